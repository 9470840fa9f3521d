package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/p4scim/p4scim/p4"
)

// localLocks serialises writes to one resource inside this process, so that
// concurrent requests queue on a mutex instead of hammering Helix Core with
// compare-and-set attempts.
type localLocks struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func newLocalLocks() *localLocks { return &localLocks{locks: map[string]*refMutex{}} }

// lock takes the mutex for key, giving up when ctx ends.
func (l *localLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	m := l.locks[key]
	if m == nil {
		m = &refMutex{}
		l.locks[key] = m
	}
	m.refs++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
	got := make(chan struct{})
	go func() {
		m.Lock()
		close(got)
	}()
	select {
	case <-got:
		return func() { m.Unlock(); release() }, nil
	case <-ctx.Done():
		// The goroutine still takes the mutex eventually; hand it back.
		go func() { <-got; m.Unlock(); release() }()
		return nil, ctx.Err()
	}
}

// The cross-replica lock is a Helix Core key driven by compare-and-set
// (p4 key --from --to, p4-cli.md §5.3). A free lock holds a number; a held
// lock holds "<replica>/<expiry unix ms>". A key that was never set reads as
// "0" and cannot be compare-and-set, so it is first made numeric with
// `key -i`, which is atomic and fails harmlessly on a held (non-numeric) lock.
const lockFree = "1"

// withLock runs fn while holding the in-process and the Helix Core lock for
// name. Costs 2 p4 commands when uncontended (acquire, release).
func (s *Service) withLock(ctx context.Context, name string, fn func(context.Context) error) error {
	return s.lockAndRun(ctx, name, false, fn)
}

// withCreateLock is withLock for a resource being created, whose lock key
// most likely was never set: it starts with the `key -i` that a never-set
// key needs instead of first failing a compare-and-set on it, which saves
// one p4 command (3 in all when uncontended).
//
// then, if fn succeeded, runs after the Helix Core lock is released but
// while the in-process lock is held: the step that ends a create (clearing
// its pending mark) must come after the release, so that a crash before any
// of the create's commands, the release included, leaves the mark for the
// retry to find.
func (s *Service) withCreateLock(ctx context.Context, name string, fn, then func(context.Context) error) error {
	return s.lockAndRun(ctx, name, true, fn, then)
}

func (s *Service) lockAndRun(ctx context.Context, name string, fresh bool, fn func(context.Context) error, then ...func(context.Context) error) error {
	waitCtx, cancel := context.WithTimeout(ctx, s.cfg.LockWait)
	defer cancel()
	unlock, err := s.locks.lock(waitCtx, name)
	if err != nil {
		return busyError(name, err)
	}
	defer unlock()

	key := s.cfg.KeyPrefix + "lock." + keyPart(name)
	holder, err := s.acquire(waitCtx, key, fresh)
	if err != nil {
		return err
	}
	err = fn(ctx)
	// Release even if the request's context ended, so the lock does not
	// linger until its TTL.
	s.release(context.WithoutCancel(ctx), key, holder)
	for _, step := range then {
		if err != nil {
			break
		}
		err = step(ctx)
	}
	return err
}

// releaseAttempts bounds the retries of a failed release. A release that
// still fails leaves the lock to expire by its TTL, or to this process,
// which takes back a lock held in its own name (acquire).
const releaseAttempts = 3

// release frees a lock this request holds. A failed release is retried: a
// lock left held costs every other replica the TTL. A compare-and-set that
// fails because the key no longer holds this holder means an earlier try
// did free it (its answer was lost), or it expired and was taken over:
// either way it is not ours to free.
func (s *Service) release(ctx context.Context, key, holder string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.helix.CompareAndSetKey(ctx, key, holder, lockFree)
		if err == nil || p4.KindOf(err) == p4.KindConflict {
			return
		}
		if attempt == releaseAttempts || ctx.Err() != nil {
			s.cfg.Logger.WarnContext(ctx, "releasing lock failed; it expires by itself", "lock", key, "err", err)
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff *= 4
	}
}

func (s *Service) acquire(ctx context.Context, key string, fresh bool) (string, error) {
	from := lockFree
	backoff := 5 * time.Millisecond
	if fresh {
		// Make the key numeric (1 if it was never set), then take it from
		// that number. If it is held, key -i fails on the holder's value
		// and the loop below waits as usual.
		var err error
		if from, err = s.makeNumeric(ctx, key); err != nil {
			return "", err
		}
	}
	for {
		holder := s.cfg.ReplicaID + "/" + strconv.FormatInt(s.cfg.Now().Add(s.cfg.LockTTL).UnixMilli(), 10)
		err := s.helix.CompareAndSetKey(ctx, key, from, holder)
		if err == nil {
			return holder, nil
		}
		var pe *p4.Error
		if !errors.As(err, &pe) || pe.Kind != p4.KindConflict {
			// The compare-and-set may have run with its answer lost: free
			// what this attempt may hold, so no other replica waits for
			// the TTL (a release that finds another value changes nothing).
			s.release(context.WithoutCancel(ctx), key, holder)
			if ctx.Err() != nil {
				return "", busyError(key, ctx.Err())
			}
			return "", helixError(err, "lock "+key)
		}
		current := pe.Current
		switch {
		case current == "0" || current == "":
			// Never set (or deleted): make it numeric, then compare-and-set
			// from the number key -i returned. If someone took the lock
			// meanwhile, -i fails on its non-numeric value and the next
			// round sees the holder.
			if from, err = s.makeNumeric(ctx, key); err != nil {
				return "", err
			}
			continue
		case isNumeric(current):
			from = current // free, with another number
			continue
		case strings.HasPrefix(current, s.cfg.ReplicaID+"/"):
			// Held in this process's name, while this process holds the
			// in-process lock for it: no request of ours holds it. It is
			// left from a release that failed (Helix Core went away during
			// a request); take it back rather than wait for its TTL.
			s.cfg.Logger.WarnContext(ctx, "taking back a lock this process failed to release", "lock", key)
			from = current
			continue
		case lockExpired(current, s.cfg.Now()):
			s.cfg.Logger.WarnContext(ctx, "taking over an expired lock", "lock", key, "holder", current)
			from = current
			continue
		}
		// Held by someone else: wait with jittered backoff.
		from = lockFree
		t := time.NewTimer(backoff + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", busyError(key, ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, 40*time.Millisecond)
	}
}

// makeNumeric runs `key -i` on a lock key and returns the value to
// compare-and-set from: the number it made, or lockFree when key -i failed
// because the key holds a holder (the caller's next round sees it). Only
// an unreachable or silent Helix Core is an error.
func (s *Service) makeNumeric(ctx context.Context, key string) (string, error) {
	n, err := s.helix.IncrementKey(ctx, key)
	switch {
	case err == nil:
		return strconv.FormatInt(n, 10), nil
	case p4.KindOf(err) == p4.KindUnavailable || p4.KindOf(err) == p4.KindTimeout:
		return "", helixError(err, "lock "+key)
	}
	return lockFree, nil
}

func lockExpired(holder string, now time.Time) bool {
	_, exp, ok := strings.Cut(holder, "/")
	if !ok {
		return true // not a holder we understand: never let it block forever
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	return err != nil || now.UnixMilli() > ms
}

func busyError(what string, err error) error {
	return &Error{Code: EUnavailable, Message: "Another change to this resource is in progress; retry later.",
		Err: fmt.Errorf("waiting for lock %s: %w", what, err)}
}
