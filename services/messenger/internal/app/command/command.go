// Package command holds messenger's use cases that change state.
package command

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// Clock returns the current time; tests pass a fixed one.
type Clock func() time.Time

// idempotency builds the replay key of a command. The fingerprint covers
// every input that shapes the outcome, so a reused key with other input is
// caught instead of silently returning an unrelated result.
func idempotency(principal, key, operation string, inputs ...string) room.Idempotency {
	h := sha256.New()
	for _, in := range inputs {
		h.Write([]byte(in))
		h.Write([]byte{0})
	}
	return room.Idempotency{
		Principal:   principal,
		Key:         strings.TrimSpace(key),
		Operation:   operation,
		Fingerprint: hex.EncodeToString(h.Sum(nil)),
	}
}

func mustHave(deps ...any) {
	for _, d := range deps {
		if d == nil {
			panic("command: nil dependency")
		}
	}
}
