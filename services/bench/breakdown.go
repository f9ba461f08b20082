package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pivotapp/platform/internal/localstack"
)

// cpuMeter reads the CPU time used so far by this process (messenger, the
// clients and the embedded nats-server) and by the Postgres cluster (every
// process in the postmaster's process group).
type cpuMeter struct {
	pgGroup int
}

type cpuSample struct{ self, pg time.Duration }

func (m cpuMeter) read() cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpuSample{self: self, pg: groupCPU(m.pgGroup)}
}

// groupCPU sums utime+stime of the postmaster pm and its children (the
// backends and helpers; each calls setsid, so the process group does not
// hold them).
func groupCPU(pm int) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(e.Name())
		if ppid, _ := strconv.Atoi(f[1]); pid != pm && ppid != pm {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// cpuCost is the CPU one operation costs on each side.
type cpuCost struct{ self, pg time.Duration }

func (c cpuCost) String() string {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return fmt.Sprintf("go %.1f us + postgres %.1f us = %.1f us", us(c.self), us(c.pg), us(c.self+c.pg))
}

// rate is how many operations per second cores would complete if CPU were
// the only limit.
func (c cpuCost) rate(cores int) float64 {
	if c.self+c.pg <= 0 {
		return 0
	}
	return float64(cores) * float64(time.Second) / float64(c.self+c.pg)
}

type cpuCosts struct{ send, insert, hop cpuCost }

// cpuPerOp measures the CPU per operation of send (counted until the relay
// has emptied the outbox, so publishing its events is included), insert and
// hop, each running alone for d.
func cpuPerOp(ctx context.Context, m cpuMeter, d time.Duration, workers int, unsent outboxProbe, send, insert, hop func(context.Context) error) (cpuCosts, error) {
	measure := func(op func(context.Context) error, settle func()) (cpuCost, error) {
		before := m.read()
		r, err := throughput(ctx, d, workers, op)
		if err != nil {
			return cpuCost{}, err
		}
		if settle != nil {
			settle()
		}
		after := m.read()
		ops := time.Duration(max(1, int(r*d.Seconds())))
		return cpuCost{self: (after.self - before.self) / ops, pg: (after.pg - before.pg) / ops}, nil
	}
	var c cpuCosts
	var err error
	// Start from an empty outbox, so the send's figure holds its own
	// events only.
	waitDrained(ctx, unsent)
	if c.send, err = measure(send, func() { waitDrained(ctx, unsent) }); err != nil {
		return c, err
	}
	if c.insert, err = measure(insert, nil); err != nil {
		return c, err
	}
	c.hop, err = measure(hop, nil)
	return c, err
}

// phase runs fn with a CPU profile written to dir/<name>.prof and prints the
// CPU microseconds per operation on each side.
func phase(dir, name string, m cpuMeter, fn func() (ops int, err error)) error {
	f, err := os.Create(filepath.Join(dir, name+".prof"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	before, t0 := m.read(), time.Now()
	ops, err := fn()
	after, wall := m.read(), time.Since(t0)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if ops == 0 {
		return fmt.Errorf("%s: no operations", name)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
	fmt.Printf("breakdown: %-22s ops %6d  %7.0f ops/s  go %6.1f us/op  postgres %6.1f us/op  total %6.1f us/op\n",
		name, ops, float64(ops)/wall.Seconds(), per(after.self-before.self), per(after.pg-before.pg),
		per(after.self-before.self+after.pg-before.pg))
	return nil
}

// breakdownRun splits the send path's CPU: raw inserts and the Connect hop
// for scale, the whole path, the path without an idempotency key (the
// difference is the key's claim), sends with NATS stopped (the request path
// alone: hop, idempotency claim, inserts, outbox rows), the relay publishing that backlog once NATS is back
// (claim, JetStream publish, marking sent) after half of that backlog went
// through the relay's claim and mark alone (the difference is the publish).
// Profiles of each phase go to dir for `go tool pprof`.
func breakdownRun(ctx context.Context, dir string, d time.Duration, concurrency int, pgPID int, ns *localstack.NATS, natsDir string,
	unsent outboxProbe, claim func(n int) (int, error), insert, send, sendNoKey, hop func(context.Context) error) error {
	m := cpuMeter{pgGroup: pgPID}
	count := func(op func(context.Context) error) func() (int, error) {
		return func() (int, error) {
			r, err := throughput(ctx, d, concurrency, op)
			return int(r * d.Seconds()), err
		}
	}
	if err := phase(dir, "raw_insert", m, count(insert)); err != nil {
		return err
	}
	if err := phase(dir, "connect_hop", m, count(hop)); err != nil {
		return err
	}
	if err := phase(dir, "hop_and_send_path", m, count(send)); err != nil {
		return err
	}
	// Without an idempotency key: the difference is the key's claim.
	if err := phase(dir, "send_without_key", m, count(sendNoKey)); err != nil {
		return err
	}
	// Let the relay catch up before isolating the request path.
	waitDrained(ctx, unsent)
	ns.Stop()
	if err := phase(dir, "send_nats_down", m, count(send)); err != nil {
		return err
	}
	// Half the backlog goes through the relay's claim and mark alone (no
	// publish): the relay's figure less this one is the JetStream publish.
	backlog, err := unsent.count(ctx)
	if err != nil {
		return err
	}
	if err := phase(dir, "outbox_claim_and_mark", m, func() (int, error) { return claim(backlog / 2) }); err != nil {
		return err
	}
	if backlog, err = unsent.count(ctx); err != nil {
		return err
	}
	// NATS restarts (recovering its stream) before the phase: the relay's
	// client reconnects only after its reconnect wait, inside the phase.
	restarted, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: natsDir, Port: ns.Port})
	if err != nil {
		return err
	}
	*ns = *restarted
	err = phase(dir, "relay_backlog", m, func() (int, error) {
		waitDrained(ctx, unsent)
		return backlog, nil
	})
	log.Printf("profiles in %s", dir)
	return err
}

func waitDrained(ctx context.Context, unsent outboxProbe) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if unsent.empty(ctx) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
