// Command tfc-relay receives Terraform Cloud notifications, verifies their
// HMAC signature, and sends GitHub a repository_dispatch "staging-applied"
// when the staging workspace's run has applied. Configure with env:
// TFC_NOTIFICATION_TOKEN, TFC_STAGING_WORKSPACES (comma-separated),
// GITHUB_REPOSITORY (owner/name), GITHUB_TOKEN, GITHUB_API_URL, PORT,
// RELAY_MAX_AGE (how old a notification may be, default 10m). On ECS the
// two tokens are secrets from Parameter Store (cmd/tfc-relay/service.tf).
// `tfc-relay --health-check` asks a running relay's /health (the image has
// no shell).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pivotapp/platform/internal/relay"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--health-check" {
		if err := healthCheck(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(log); err != nil {
		log.Error("tfc-relay: exiting", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	var missing []string
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			missing = append(missing, k)
		}
		return v
	}
	token, ws, repoName, ghToken := get("TFC_NOTIFICATION_TOKEN"), get("TFC_STAGING_WORKSPACES"), get("GITHUB_REPOSITORY"), get("GITHUB_TOKEN")
	if len(missing) > 0 {
		return errors.New("missing environment variables: " + strings.Join(missing, ", "))
	}
	api := os.Getenv("GITHUB_API_URL")
	if api == "" {
		api = "https://api.github.com"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	h, err := relay.NewHandler(token, strings.Split(ws, ","), relay.GitHub{BaseURL: api, Repository: repoName, Token: ghToken}, log)
	if err != nil {
		return err
	}
	if v := os.Getenv("RELAY_MAX_AGE"); v != "" {
		if h.MaxAge, err = time.ParseDuration(v); err != nil || h.MaxAge <= 0 {
			return fmt.Errorf("RELAY_MAX_AGE %q is not a positive duration", v)
		}
	}
	srv := &http.Server{Addr: ":" + port, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("tfc-relay: listening", "port", port)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthCheck asks the relay on this host's PORT for /health.
func healthCheck() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + relay.HealthPath)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s", resp.Status)
	}
	return nil
}
