package service_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pivotapp/platform/services/friend/internal/service"
	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	secret   = "0123456789abcdef0123456789abcdef-test-only"
	audience = "pivot-app"
)

// unreachable returns a loopback URL nothing listens on: auth decisions are
// made before friend calls messenger, and a call that gets past auth fails
// with Unavailable instead of Unauthenticated.
func unreachable(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func startFriend(t *testing.T, env map[string]string) connectv1connect.FriendServiceClient {
	t.Helper()
	client, _ := startFriendAt(t, env)
	return client
}

func startFriendAt(t *testing.T, env map[string]string) (connectv1connect.FriendServiceClient, string) {
	t.Helper()
	vars := map[string]string{"STAGE": "staging", "MESSENGER_URL": unreachable(t), "JWT_AUDIENCE": audience}
	for k, v := range env {
		vars[k] = v
	}
	var cfg service.Config
	if err := kit.LoadEnvFrom(&cfg, vars); err != nil {
		t.Fatal(err)
	}
	p := kit.NewProcess(service.Name, cfg.BaseConfig, testenv.Logger(t))
	if err := service.Build(context.Background(), &cfg, p); err != nil {
		t.Fatal(err)
	}
	url, _ := testenv.Serve(t, p)
	return connectv1connect.NewFriendServiceClient(http.DefaultClient, url), url
}

func claims(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
	c := jwt.RegisteredClaims{
		Subject:   "alice",
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.RegisteredClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds an alg=none token by hand, as an attacker would.
func unsigned(c jwt.RegisteredClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func call(c connectv1connect.FriendServiceClient, token string) (status, rooms error, userID string) {
	sreq := connect.NewRequest(&connectv1.GetStatusRequest{})
	rreq := connect.NewRequest(&connectv1.ListRoomsRequest{})
	if token != "" {
		sreq.Header().Set("Authorization", "Bearer "+token)
		rreq.Header().Set("Authorization", "Bearer "+token)
	}
	res, status := c.GetStatus(context.Background(), sreq)
	if status == nil {
		userID = res.Msg.GetUserId()
	}
	_, rooms = c.ListRooms(context.Background(), rreq)
	return status, rooms, userID
}

func TestBadTokensAreRefusedHS256(t *testing.T) {
	t.Parallel()
	c := startFriend(t, map[string]string{"JWT_HS256_SECRET": secret})
	other := rsaKey(t)
	valid := sign(t, jwt.SigningMethodHS256, []byte(secret), claims(nil))

	status, rooms, user := call(c, valid)
	if status != nil || user != "alice" {
		t.Fatalf("valid token: status err %v, user %q", status, user)
	}
	if connect.CodeOf(rooms) != connect.CodeUnavailable {
		t.Fatalf("valid token on an authenticated RPC: %v, want it past auth (Unavailable: no messenger here)", rooms)
	}

	header, payload := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice","aud":"pivot-app","exp":9999999999}`))
	bad := map[string]string{
		"expired":            sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) })),
		"no expiry":          sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		"wrong audience":     sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"someone-else"} })),
		"no audience":        sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.Audience = nil })),
		"not yet valid":      sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) })),
		"issued in future":   sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) })),
		"no subject":         sign(t, jwt.SigningMethodHS256, []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.Subject = "" })),
		"alg none":           unsigned(claims(nil)),
		"wrong key":          sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-123"), claims(nil)),
		"other algorithm":    sign(t, jwt.SigningMethodHS512, []byte(secret), claims(nil)),
		"rs256 instead":      sign(t, jwt.SigningMethodRS256, other, claims(nil)),
		"garbage":            "not-a-jwt",
		"three garbage dots": "a.b.c",
		"signature stripped": header + "." + payload + ".",
		"tampered payload":   header + "." + payload + "." + "c2lnbmF0dXJl",
	}
	for name, token := range bad {
		t.Run(name, func(t *testing.T) {
			status, rooms, _ := call(c, token)
			if connect.CodeOf(status) != connect.CodeUnauthenticated {
				t.Errorf("public RPC with a bad token: %v, want Unauthenticated", status)
			}
			if connect.CodeOf(rooms) != connect.CodeUnauthenticated {
				t.Errorf("authenticated RPC: %v, want Unauthenticated", rooms)
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		status, rooms, user := call(c, "")
		if status != nil || user != "" {
			t.Errorf("public RPC without a token: %v, user %q; want allowed and anonymous", status, user)
		}
		if connect.CodeOf(rooms) != connect.CodeUnauthenticated {
			t.Errorf("authenticated RPC without a token: %v, want Unauthenticated", rooms)
		}
	})
	t.Run("not bearer", func(t *testing.T) {
		req := connect.NewRequest(&connectv1.ListRoomsRequest{})
		req.Header().Set("Authorization", "Basic "+valid)
		if _, err := c.ListRooms(context.Background(), req); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("Basic scheme: %v, want Unauthenticated", err)
		}
	})
}

func TestBadTokensAreRefusedRS256(t *testing.T) {
	t.Parallel()
	key, other := rsaKey(t), rsaKey(t)
	pub := publicPEM(t, key)
	c := startFriend(t, map[string]string{"JWT_RS256_PUBLIC_KEY": pub, "JWT_ISSUER": "https://id.pivot.app"})
	withIssuer := func(c *jwt.RegisteredClaims) { c.Issuer = "https://id.pivot.app" }

	if _, _, user := call(c, sign(t, jwt.SigningMethodRS256, key, claims(withIssuer))); user != "alice" {
		t.Fatalf("valid RS256 token refused")
	}
	bad := map[string]string{
		"wrong key":    sign(t, jwt.SigningMethodRS256, other, claims(withIssuer)),
		"wrong issuer": sign(t, jwt.SigningMethodRS256, key, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" })),
		"no issuer":    sign(t, jwt.SigningMethodRS256, key, claims(nil)),
		// The classic confusion: HS256 keyed with the public key's bytes.
		"hs256 with public key": sign(t, jwt.SigningMethodHS256, []byte(pub), claims(withIssuer)),
		"alg none":              unsigned(claims(withIssuer)),
		"expired": sign(t, jwt.SigningMethodRS256, key, claims(func(c *jwt.RegisteredClaims) {
			withIssuer(c)
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})),
		"wrong audience": sign(t, jwt.SigningMethodRS256, key, claims(func(c *jwt.RegisteredClaims) {
			withIssuer(c)
			c.Audience = jwt.ClaimStrings{"admin"}
		})),
	}
	for name, token := range bad {
		t.Run(name, func(t *testing.T) {
			if _, rooms, _ := call(c, token); connect.CodeOf(rooms) != connect.CodeUnauthenticated {
				t.Errorf("%v, want Unauthenticated", rooms)
			}
		})
	}
}

func TestAuthConfigNeedsExactlyOneKey(t *testing.T) {
	t.Parallel()
	var cfg service.Config
	err := kit.LoadEnvFrom(&cfg, map[string]string{"STAGE": "local", "MESSENGER_URL": "http://messenger:8080", "JWT_AUDIENCE": "x"})
	if err == nil {
		t.Fatal("no key: want an error")
	}
	for _, name := range []string{"JWT_HS256_SECRET", "JWT_RS256_PUBLIC_KEY"} {
		if !containsProblem(err, name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	err = kit.LoadEnvFrom(&cfg, map[string]string{"STAGE": "local", "MESSENGER_URL": "http://messenger:8080", "JWT_AUDIENCE": "x", "JWT_HS256_SECRET": "short"})
	if !containsProblem(err, "JWT_HS256_SECRET") {
		t.Errorf("short secret: %v", err)
	}
}

func containsProblem(err error, name string) bool {
	var e *kit.EnvError
	ok := errors.As(err, &e)
	if !ok {
		return false
	}
	for _, p := range e.Problems {
		if p.Name == name {
			return true
		}
	}
	return false
}

// TestBadRS256KeyIsRefusedAlone: a key too small to verify tokens is
// refused at start, and a malformed key is the only problem reported (the
// HS256 secret is not also claimed missing).
func TestBadRS256KeyIsRefusedAlone(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{
		"1024-bit key": publicPEM(t, small),
		"malformed":    "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
	} {
		var cfg service.Config
		err := kit.LoadEnvFrom(&cfg, map[string]string{"STAGE": "local", "MESSENGER_URL": "http://messenger:8080", "JWT_AUDIENCE": "x", "JWT_RS256_PUBLIC_KEY": key})
		var e *kit.EnvError
		if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Name != "JWT_RS256_PUBLIC_KEY" {
			t.Errorf("%s: want exactly one problem, with JWT_RS256_PUBLIC_KEY; got %v", name, err)
		}
	}
}

// TestHealthChecksMessenger: friend's readiness reports whether messenger
// answers; its liveness does not depend on it.
func TestHealthChecksMessenger(t *testing.T) {
	t.Parallel()
	messenger := kit.NewProcess("messenger", kit.BaseConfig{}, testenv.Logger(t))
	messengerURL, stopMessenger := testenv.Serve(t, messenger)
	_, url := startFriendAt(t, map[string]string{"JWT_HS256_SECRET": secret, "MESSENGER_URL": messengerURL})
	ready := func() (int, kit.HealthReport) {
		t.Helper()
		resp, err := http.Get(url + kit.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep kit.HealthReport
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rep
	}
	if code, rep := ready(); code != http.StatusOK || !rep.Checks["messenger"].OK {
		t.Fatalf("messenger up: health = %d %+v", code, rep)
	}
	if err := stopMessenger(); err != nil {
		t.Fatal(err)
	}
	if code, rep := ready(); code != http.StatusServiceUnavailable || rep.Checks["messenger"].OK {
		t.Errorf("messenger down: health = %d %+v, want 503 naming messenger", code, rep)
	}
	if err := kit.ProbeLive(context.Background(), http.DefaultClient, url); err != nil {
		t.Errorf("liveness with messenger down: %v", err)
	}
}
