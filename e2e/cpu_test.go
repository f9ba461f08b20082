package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every Linux
// the benchmarks run on).
const clockTicks = 100

// cpuUse is the CPU seconds each class of process spent while a command ran,
// and the wall time it took.
type cpuUse struct {
	Wall      float64 // seconds
	Moto      float64 // the moto server (one Python process)
	Terraform float64 // terraform itself
	Provider  float64 // the provider plugins terraform started
	Harness   float64 // this process: the counting proxy and the test
	Stack     float64 // the rest of the local stack: PostgreSQL, NATS servers
	Machine   float64 // every process on the machine, other sessions too
	// MotoPeak is the most of a core moto used in any one second, and
	// Saturated the share of the seconds in which the machine's cores were
	// at least 95% busy.
	MotoPeak, Saturated float64
}

// Ours is what the run itself used: everything but other sessions'.
func (u cpuUse) Ours() float64 {
	return u.Moto + u.Terraform + u.Provider + u.Harness + u.Stack
}

// procStat is one process's line of /proc/<pid>/stat.
type procStat struct {
	pid, ppid int
	comm      string
	self      float64 // utime+stime, seconds
	children  float64 // cutime+cstime: the children it waited for
}

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, false
	}
	// Fields after the command: state ppid ... utime(14) stime cutime cstime.
	f := strings.Fields(s[closing+1:])
	if len(f) < 15 {
		return procStat{}, false
	}
	num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / clockTicks }
	ppid, _ := strconv.Atoi(f[1])
	return procStat{pid: pid, ppid: ppid, comm: s[open+1 : closing], self: num(11) + num(12), children: num(13) + num(14)}, true
}

// processes is every process on the machine, by PID.
func processes() map[int]procStat {
	entries, _ := os.ReadDir("/proc")
	out := make(map[int]procStat, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProcStat(pid); ok {
			out[pid] = p
		}
	}
	return out
}

// childrenOf is the PIDs of pid's children (every thread's list).
func childrenOf(pid int) []int {
	lists, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var out []int
	for _, l := range lists {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// descendsFrom reports whether pid is root or below it.
func descendsFrom(all map[int]procStat, pid, root int) bool {
	for range 64 {
		if pid == root {
			return true
		}
		p, ok := all[pid]
		if !ok || p.ppid <= 1 {
			return false
		}
		pid = p.ppid
	}
	return false
}

// machineBusy is the CPU seconds every core has spent on anything but idle
// and I/O wait since boot (/proc/stat's first line).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTicks
}

func rusage(who int) float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// measureCPU runs fn (which runs terraform as a child of this process) and
// returns the CPU each class of process used meanwhile. Long-lived processes
// (moto, PostgreSQL with the backends it reaped, NATS) are read before and
// after. Terraform and the plugins together are exact (RUSAGE_CHILDREN:
// terraform waits for its plugins, and the test for terraform); the plugins'
// share is sampled every 50 ms from /proc, so a plugin's last few
// milliseconds count as terraform's. The sampling itself is this process's
// (Harness), as are the counting proxy and the tenants' NATS servers.
func measureCPU(motoPID int, fn func()) cpuUse {
	self := os.Getpid()
	longLived := func() (moto, stack float64) {
		all := processes()
		for pid, p := range all {
			switch {
			case pid == self:
			case descendsFrom(all, pid, motoPID):
				moto += p.self + p.children
			case descendsFrom(all, pid, self) && !strings.HasPrefix(p.comm, "terraform"):
				stack += p.self + p.children
			}
		}
		return moto, stack
	}
	var mu sync.Mutex
	plugins := map[int]float64{} // PID: the most CPU seen
	type sample struct{ at, moto, machine float64 }
	var samples []sample
	t0 := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		terraformPID := 0
		for {
			mu.Lock()
			if m, ok := readProcStat(motoPID); ok {
				samples = append(samples, sample{at: time.Since(t0).Seconds(), moto: m.self + m.children, machine: machineBusy()})
			}
			// Only this test's terraform and its plugins, found through the
			// children lists: other sessions on the machine run theirs, and
			// scanning all of /proc every tick cost this process seconds.
			if terraformPID == 0 {
				for _, c := range childrenOf(self) {
					if p, ok := readProcStat(c); ok && p.comm == "terraform" {
						terraformPID = c
					}
				}
			}
			if terraformPID != 0 {
				for _, c := range childrenOf(terraformPID) {
					if p, ok := readProcStat(c); ok && strings.HasPrefix(p.comm, "terraform-provi") && p.self > plugins[c] {
						plugins[c] = p.self
					}
				}
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	moto0, stack0 := longLived()
	children0, self0, machine0 := rusage(syscall.RUSAGE_CHILDREN), rusage(syscall.RUSAGE_SELF), machineBusy()
	start := time.Now()
	fn()
	wall := time.Since(start).Seconds()
	children1, self1, machine1 := rusage(syscall.RUSAGE_CHILDREN), rusage(syscall.RUSAGE_SELF), machineBusy()
	moto1, stack1 := longLived()
	close(done)
	wg.Wait()
	var provider float64
	for _, v := range plugins {
		provider += v
	}
	children := children1 - children0
	provider = min(provider, children)
	var motoPeak float64
	var seconds, saturated int
	cores := float64(runtime.NumCPU())
	for i, j := 0, 0; i < len(samples); i = j {
		for j = i + 1; j < len(samples) && samples[j].at-samples[i].at < 1; j++ {
		}
		if j == len(samples) {
			break
		}
		dt := samples[j].at - samples[i].at
		motoPeak = max(motoPeak, (samples[j].moto-samples[i].moto)/dt)
		seconds++
		if (samples[j].machine-samples[i].machine)/dt >= 0.95*cores {
			saturated++
		}
	}
	return cpuUse{
		MotoPeak:  motoPeak,
		Saturated: float64(saturated) / float64(max(seconds, 1)),
		Wall:      wall,
		Moto:      moto1 - moto0,
		Terraform: children - provider,
		Provider:  provider,
		Harness:   self1 - self0,
		Stack:     max(stack1-stack0, 0),
		Machine:   machine1 - machine0,
	}
}
