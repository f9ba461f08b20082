// Package command holds messenger's use cases that change state.
package command

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// Clock returns the current time; tests pass a fixed one.
type Clock func() time.Time

// idempotency builds the replay key of a command. The fingerprint covers
// every input that shapes the outcome, so a reused key with other input is
// caught instead of silently returning an unrelated result. Each input is
// hashed with its length in front, so no two different input lists share a
// fingerprint whatever characters the inputs hold (a list of IDs is passed
// as its length followed by its items: ["x","y"] and ["x,y"] differ).
func idempotency(principal, key, operation string, inputs ...string) room.Idempotency {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, in := range inputs {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(in)))])
		h.Write([]byte(in))
	}
	return room.Idempotency{
		Principal:   principal,
		Key:         strings.TrimSpace(key),
		Operation:   operation,
		Fingerprint: hex.EncodeToString(h.Sum(nil)),
	}
}

// list turns a list input into fingerprint inputs: its length, then its
// items.
func list(items []string) []string {
	return append([]string{strconv.Itoa(len(items))}, items...)
}

func mustHave(deps ...any) {
	for _, d := range deps {
		if d == nil {
			panic("command: nil dependency")
		}
	}
}
