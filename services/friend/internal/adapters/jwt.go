package adapters

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTVerifier checks users' bearer tokens: signature with the one
// configured algorithm and key, expiry (required), audience, and issuer
// when configured. alg=none and every algorithm but the configured one are
// refused before any key is used, which also closes the HS256-with-an-RSA-
// public-key confusion.
type JWTVerifier struct {
	parser *jwt.Parser
	key    any
}

// NewHS256Verifier verifies HMAC-SHA256 tokens signed with secret.
func NewHS256Verifier(secret []byte, audience, issuer string, leeway time.Duration) *JWTVerifier {
	if len(secret) == 0 {
		panic("adapters: empty HS256 secret")
	}
	return &JWTVerifier{parser: newParser("HS256", audience, issuer, leeway), key: secret}
}

// NewRS256Verifier verifies RSA-SHA256 tokens signed by pub's private key.
func NewRS256Verifier(pub *rsa.PublicKey, audience, issuer string, leeway time.Duration) *JWTVerifier {
	if pub == nil {
		panic("adapters: nil RS256 key")
	}
	return &JWTVerifier{parser: newParser("RS256", audience, issuer, leeway), key: pub}
}

func newParser(alg, audience, issuer string, leeway time.Duration) *jwt.Parser {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	return jwt.NewParser(opts...)
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// Verify returns the token's subject (the user ID).
func (v *JWTVerifier) Verify(_ context.Context, token string) (string, error) {
	claims := &jwt.RegisteredClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return "", fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return claims.Subject, nil
}
