package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate in certFile/keyFile and picks it up
// again when either file changes, so a renewed certificate (certbot, a
// Kubernetes secret) takes effect without a restart. A renewal caught half
// written is retried on the next handshake; the old certificate stays in
// use meanwhile.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := r.get(); err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE/TLS_KEY_FILE: %w", err)
	}
	return r, nil
}

// latest is the newer modification time of the two files.
func (r *certReloader) latest() (time.Time, error) {
	var t time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return t, err
		}
		if st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t, nil
}

func (r *certReloader) get() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mod, err := r.latest()
	if err == nil && r.cert != nil && !mod.After(r.modTime) {
		return r.cert, nil
	}
	cert, lerr := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil || lerr != nil {
		if r.cert != nil {
			r.log.Warn("TLS certificate changed but cannot be loaded; keeping the previous one", "err", firstErr(err, lerr))
			return r.cert, nil
		}
		return nil, firstErr(err, lerr)
	}
	if r.cert != nil {
		r.log.Info("TLS certificate reloaded", "file", r.certFile)
	}
	r.cert, r.modTime = &cert, mod
	return r.cert, nil
}

func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.get() }

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
