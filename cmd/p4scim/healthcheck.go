package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/p4scim/p4scim/config"
)

// healthcheck is the image's HEALTHCHECK and a probe for any supervisor:
// GET /healthz on the address serve listens on. It reads the settings as
// serve does (flags, environment, .env, config file), so it follows
// LISTEN_ADDRESS however it is set, and speaks TLS when serve does.
//
// A configuration that has stopped validating since the daemon started
// (a .env edited in place) does not make the running daemon unhealthy: the
// probe still goes to the address the settings give.
func healthcheck(ctx context.Context, args, environ []string, out io.Writer) error {
	cfg, err := loadConfig("healthcheck", args, environ, out)
	if errors.Is(err, errHelp) {
		return err
	}
	var ce *config.Error
	if err != nil && (!errors.As(err, &ce) || cfg.ListenAddress == "") {
		return err
	}
	url, err := healthURL(cfg)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 3 * time.Second}
	if cfg.TLSCertFile != "" {
		// The certificate names the public host, not the loopback address
		// probed here, and the probe sends nothing secret: it checks that
		// the daemon answers, not who it is.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz %s: %s", url, resp.Status)
	}
	fmt.Fprintf(out, "ok %s\n", url)
	return nil
}

// healthURL is /healthz on cfg's listener, reached over loopback when
// serve listens on every interface.
func healthURL(cfg config.Config) (string, error) {
	host, port, err := net.SplitHostPort(cfg.ListenAddress)
	if err != nil {
		return "", fmt.Errorf("LISTEN_ADDRESS %q: %w", cfg.ListenAddress, err)
	}
	switch host {
	case "", "0.0.0.0", "::":
		// Go listens on "::" dual-stack, and a container may have no ::1.
		host = "127.0.0.1"
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", nil
}
