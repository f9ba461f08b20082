package provider

import (
	"os"
	"testing"
)

func TestSetLogLevels(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"nothing asked", nil, map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_PROVIDER_PIVOT": "OFF"}},
		{"TF_LOG", map[string]string{"TF_LOG": "debug"}, map[string]string{"TF_LOG_SDK": "DEBUG", "TF_LOG_SDK_FRAMEWORK": "DEBUG", "TF_LOG_PROVIDER_PIVOT": "DEBUG"}},
		{"JSON is TRACE", map[string]string{"TF_LOG": "JSON"}, map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}},
		{"TF_LOG_PROVIDER wins", map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "WARN"}, map[string]string{"TF_LOG_SDK_PROTO": "WARN"}},
		{"explicit level kept", map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}, map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE", "TF_LOG_SDK": "OFF"}},
		{"unknown level left to the defaults", map[string]string{"TF_LOG": "LOUD"}, map[string]string{"TF_LOG_SDK": ""}},
		{"test log file left alone", map[string]string{"TF_ACC_LOG_PATH": "/tmp/x.log"}, map[string]string{"TF_LOG_SDK": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range append([]string{"TF_LOG", "TF_LOG_PROVIDER", "TF_ACC_LOG_PATH", "TF_LOG_PATH_MASK"}, sdkLogLevelEnv...) {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			SetLogLevels()
			for k, want := range tc.want {
				if got := os.Getenv(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
