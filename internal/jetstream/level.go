package jetstream

import (
	"errors"
	"fmt"
)

// Requirement is a setting that needs a minimum JetStream API level.
type Requirement struct {
	Field string
	Level int
}

// levelVersions names the first nats-server release of each API level the
// settings here use (nats-server's jetstream_versioning.go).
var levelVersions = map[int]string{1: "2.11", 2: "2.12", 4: "2.14", 5: "2.15"}

// ServerVersionForLevel names the nats-server release that introduced an API
// level, for messages.
func ServerVersionForLevel(level int) string {
	if v, ok := levelVersions[level]; ok {
		return "nats-server " + v + " or later"
	}
	return fmt.Sprintf("a nats-server with JetStream API level %d or later", level)
}

// Requirements lists the stream settings in use that need an API level
// above 0 (nats-server 2.10).
func (c StreamConfig) Requirements() []Requirement {
	var out []Requirement
	need := func(set bool, field string, level int) {
		if set {
			out = append(out, Requirement{Field: field, Level: level})
		}
	}
	need(c.AllowMsgTTL, "allow_msg_ttl", 1)
	need(c.SubjectDeleteMarkerTTL > 0, "subject_delete_marker_ttl", 1)
	need(c.AllowMsgCounter, "allow_msg_counter", 2)
	need(c.AllowAtomic, "allow_atomic", 2)
	need(c.AllowMsgSchedules, "allow_msg_schedules", 2)
	need(c.PersistMode == PersistAsync, "persist_mode", 2)
	need(c.AllowBatched, "allow_batched", 4)
	if c.Mirror != nil {
		need(c.Mirror.Consumer != nil, "mirror.consumer", 4)
	}
	for i, s := range c.Sources {
		need(s.Consumer != nil, fmt.Sprintf("sources[%d].consumer", i), 4)
	}
	return out
}

// Requirements lists the consumer settings in use that need an API level
// above 0 (nats-server 2.10).
func (c ConsumerConfig) Requirements() []Requirement {
	var out []Requirement
	need := func(set bool, field string, level int) {
		if set {
			out = append(out, Requirement{Field: field, Level: level})
		}
	}
	need(!c.PauseUntil.IsZero(), "pause_until", 1)
	switch c.PriorityPolicy {
	case PriorityOverflow, PriorityPinnedClient:
		need(true, "priority_policy", 1)
	case PriorityPrioritized:
		need(true, "priority_policy", 2)
	}
	need(c.AckPolicy == AckFlowControl, "ack_policy", 4)
	return out
}

// CheckAPILevel reports, as joined *FieldError values, each requirement the
// server's API level does not meet. serverVersion, when known, goes into
// the message.
func CheckAPILevel(reqs []Requirement, level int, serverVersion string) error {
	var errs []error
	running := fmt.Sprintf("JetStream API level %d", level)
	if serverVersion != "" {
		running = fmt.Sprintf("nats-server %s (JetStream API level %d)", serverVersion, level)
	}
	for _, r := range reqs {
		if r.Level <= level {
			continue
		}
		errs = append(errs, &FieldError{
			Field:    r.Field,
			Involves: []string{topLevel(r.Field)},
			Err: fmt.Errorf("needs %s (JetStream API level %d), but the server runs %s; upgrade the server or remove %s",
				ServerVersionForLevel(r.Level), r.Level, running, r.Field),
		})
	}
	return errors.Join(errs...)
}
