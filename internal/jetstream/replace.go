package jetstream

import (
	"reflect"
	"slices"
)

// The rules below follow nats-server's update checks
// (jsAccount.configUpdateCheck for streams, Account.checkNewConsumerConfig
// for consumers): every other setting the server changes in place.

// RetentionNeedsReplace reports whether the server refuses to switch a
// stream's retention from old to new: limits and interest switch in place,
// work queue never does.
func RetentionNeedsReplace(old, new string) bool {
	old, new = orDefault(old, RetentionLimits), orDefault(new, RetentionLimits)
	return old != new && (old == RetentionWorkQueue || new == RetentionWorkQueue)
}

// MirrorNeedsReplace reports whether a mirror change needs a new stream. A
// mirror may be removed (promoting the stream) but not added or changed.
func MirrorNeedsReplace(old, new *Source) bool {
	if new == nil {
		return false
	}
	return old == nil || !reflect.DeepEqual(old.toAPI(), new.toAPI())
}

// StreamReplaceFields lists the settings whose change from old to new the
// server cannot make in place, so the stream must be recreated.
func StreamReplaceFields(old, new StreamConfig) []string {
	var out []string
	add := func(cond bool, f string) {
		if cond {
			out = append(out, f)
		}
	}
	add(old.Name != new.Name, "name")
	add(orDefault(old.Storage, StorageFile) != orDefault(new.Storage, StorageFile), "storage")
	add(RetentionNeedsReplace(old.Retention, new.Retention), "retention")
	add(old.DenyDelete && !new.DenyDelete, "deny_delete")
	add(old.DenyPurge && !new.DenyPurge, "deny_purge")
	add(MirrorNeedsReplace(old.Mirror, new.Mirror), "mirror")
	add(old.FirstSeq != new.FirstSeq, "first_seq")
	add(old.AllowMsgTTL && !new.AllowMsgTTL, "allow_msg_ttl")
	add(old.AllowMsgCounter != new.AllowMsgCounter, "allow_msg_counter")
	add(old.AllowMsgSchedules && !new.AllowMsgSchedules, "allow_msg_schedules")
	add(orDefault(old.PersistMode, PersistDefault) != orDefault(new.PersistMode, PersistDefault), "persist_mode")
	return out
}

// ConsumerReplaceFields lists the settings whose change from old to new the
// server cannot make in place, so the consumer must be recreated.
func ConsumerReplaceFields(old, new ConsumerConfig) []string {
	var out []string
	add := func(cond bool, f string) {
		if cond {
			out = append(out, f)
		}
	}
	add(old.Stream != new.Stream, "stream")
	add(old.Durable != new.Durable, "durable_name")
	add(orDefault(old.DeliverPolicy, DeliverAll) != orDefault(new.DeliverPolicy, DeliverAll), "deliver_policy")
	add(old.OptStartSeq != new.OptStartSeq, "opt_start_seq")
	add(!old.OptStartTime.Equal(new.OptStartTime), "opt_start_time")
	add(orDefault(old.AckPolicy, AckExplicit) != orDefault(new.AckPolicy, AckExplicit), "ack_policy")
	add(orDefault(old.ReplayPolicy, ReplayInstant) != orDefault(new.ReplayPolicy, ReplayInstant), "replay_policy")
	add(old.Heartbeat != new.Heartbeat, "heartbeat")
	add(old.FlowControl != new.FlowControl, "flow_control")
	add(old.MemoryStorage != new.MemoryStorage, "memory_storage")
	add(old.IsPush() != new.IsPush(), "deliver_subject")
	add(old.MaxWaiting != new.MaxWaiting, "max_waiting")
	return slices.Clip(out)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
