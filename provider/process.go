package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
)

// sdkLogLevelEnv are the variables terraform-plugin-log reads for the
// levels of the plugin SDK's loggers (terraform-plugin-go, its protocol
// subsystem, the framework) and of the provider's own logger. A logger whose
// variable is unset logs at TRACE: every RPC, every attribute the framework
// walks, written as JSON to stderr and parsed by Terraform, which then drops
// it when TF_LOG is unset (138,000 lines for a 300-resource plan).
var sdkLogLevelEnv = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_PIVOT"}

// validLogLevels are the levels Terraform and terraform-plugin-log accept.
var validLogLevels = map[string]bool{"TRACE": true, "DEBUG": true, "INFO": true, "WARN": true, "ERROR": true, "OFF": true}

// SetLogLevels gives the plugin SDK's loggers the level the user asked
// Terraform for, so a provider process never builds log lines Terraform
// would drop: with TF_LOG and TF_LOG_PROVIDER unset (or OFF) every logger is
// off; with TF_LOG_PROVIDER or TF_LOG set, each logger whose own variable is
// unset takes that level (JSON means TRACE), which is what Terraform shows.
// A variable set explicitly (TF_LOG_SDK_FRAMEWORK=TRACE, say) is kept. Test
// runs that log to a file (TF_ACC_LOG_PATH, TF_LOG_PATH_MASK) default to
// TRACE in terraform-plugin-testing and are left alone. Call it once, at
// start-up, before the server starts.
func SetLogLevels() {
	if os.Getenv("TF_ACC_LOG_PATH") != "" || os.Getenv("TF_LOG_PATH_MASK") != "" {
		return
	}
	level, ok := requestedLogLevel()
	if !ok {
		return
	}
	for _, k := range sdkLogLevelEnv {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, level)
		}
	}
}

// requestedLogLevel is the provider log level Terraform uses: TF_LOG_PROVIDER,
// else TF_LOG; unset means OFF. ok is false for a value Terraform does not
// know, which is left to the loggers' defaults.
func requestedLogLevel() (level string, ok bool) {
	level = strings.ToUpper(strings.TrimSpace(os.Getenv("TF_LOG_PROVIDER")))
	if level == "" {
		level = strings.ToUpper(strings.TrimSpace(os.Getenv("TF_LOG")))
	}
	switch {
	case level == "":
		return "OFF", true
	case level == "JSON":
		return "TRACE", true
	case validLogLevels[level]:
		return level, true
	}
	return "", false
}

// CPUProfileEnv names a directory: when set, the provider process writes a
// CPU profile of its whole life there (cpu-<pid>.pprof), for `make profile`.
// Terraform may start more than one provider process per command; each
// writes its own file.
const CPUProfileEnv = "PIVOT_CPU_PROFILE_DIR"

// StartCPUProfile starts the CPU profile CPUProfileEnv asks for and returns
// the function that writes it; without CPUProfileEnv it does nothing.
func StartCPUProfile() (stop func(), err error) {
	dir := os.Getenv(CPUProfileEnv)
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create profile directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err != nil {
		return nil, fmt.Errorf("create profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// providerGCPercent is the provider process's GOGC unless the environment
// sets one. A provider process lives for one Terraform command and its live
// heap is a few megabytes, but every request allocates its values afresh:
// at the default 100 the collector took a quarter of the CPU of a 300-resource
// plan. Four times the live heap between collections is still little memory.
const providerGCPercent = 400

// TuneGC sets providerGCPercent, unless GOGC is set. Call it at start-up.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(providerGCPercent)
	}
}
