package jetstream

import (
	"strings"
	"testing"
	"time"
)

func validStream() StreamConfig {
	return StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}, MaxMsgs: -1, MaxBytes: -1, MaxMsgSize: -1, MaxMsgsPerSubject: -1, MaxConsumers: -1, Replicas: 1}
}

func validConsumer() ConsumerConfig {
	return ConsumerConfig{Stream: "ORDERS", Durable: "worker", MaxDeliver: -1}
}

// wantField asserts that err holds a field error at field whose message
// contains msg.
func wantField(t *testing.T, err error, field, msg string) {
	t.Helper()
	for _, fe := range FieldErrors(err) {
		if fe.Field == field && strings.Contains(fe.Err.Error(), msg) {
			return
		}
	}
	t.Fatalf("want error at %s containing %q, got: %v", field, msg, err)
}

func TestStreamValidateAcceptsValid(t *testing.T) {
	t.Parallel()
	if err := validStream().Validate(); err != nil {
		t.Fatal(err)
	}
	c := validStream()
	c.Owner = "orders"
	c.Subjects = []string{"orders.created", "orders.*.shipped"}
	c.MaxAge = time.Hour
	c.DuplicateWindow = time.Minute
	c.AllowMsgTTL, c.AllowRollup, c.SubjectDeleteMarkerTTL = true, true, time.Minute
	c.Republish = &Republish{Destination: "copy.>"}
	c.Sources = []Source{{Name: "A", FilterSubject: "a.>"}, {Name: "B", SubjectTransforms: []SubjectTransform{{Source: "b.*", Destination: "x.{{wildcard(1)}}"}}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestStreamValidateRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*StreamConfig)
		field  string
		msg    string
	}{
		{"bad name", func(c *StreamConfig) { c.Name = "a.b" }, "name", "must not contain"},
		{"bad subject", func(c *StreamConfig) { c.Subjects = []string{"a..b"} }, "subjects[0]", "not a valid subject"},
		{"overlap", func(c *StreamConfig) { c.Subjects = []string{"orders.>", "orders.created"} }, "subjects[1]", "overlaps"},
		{"duplicate", func(c *StreamConfig) { c.Subjects = []string{"a", "a"} }, "subjects[1]", "listed twice"},
		{"no subjects", func(c *StreamConfig) { c.Subjects = nil }, "subjects", "captures nothing"},
		{"mirror with subjects", func(c *StreamConfig) { c.Mirror = &Source{Name: "X"} }, "subjects", "takes no subjects"},
		{"mirror with sources", func(c *StreamConfig) {
			c.Subjects = nil
			c.Mirror = &Source{Name: "X"}
			c.Sources = []Source{{Name: "Y"}}
		}, "sources", "not both"},
		{"owner", func(c *StreamConfig) { c.Owner = "billing" }, "subjects[0]", "not under \"billing.\""},
		{"bad owner", func(c *StreamConfig) { c.Owner = "bill*" }, "owner", "not a service name"},
		{"dupe window", func(c *StreamConfig) { c.MaxAge, c.DuplicateWindow = time.Minute, time.Hour }, "duplicate_window", "longer than max_age"},
		{"max age small", func(c *StreamConfig) { c.MaxAge = time.Millisecond }, "max_age", "at least 100ms"},
		{"limit", func(c *StreamConfig) { c.MaxMsgs = -5 }, "max_msgs", "use -1"},
		{"counter ttl", func(c *StreamConfig) { c.AllowMsgCounter, c.AllowMsgTTL = true, true }, "allow_msg_counter", "per-message TTLs"},
		{"counter retention", func(c *StreamConfig) { c.AllowMsgCounter, c.Retention = true, RetentionInterest }, "allow_msg_counter", "limits"},
		{"counter discard", func(c *StreamConfig) { c.AllowMsgCounter, c.Discard = true, DiscardNew }, "allow_msg_counter", "discard"},
		{"marker ttl", func(c *StreamConfig) { c.SubjectDeleteMarkerTTL = time.Minute }, "subject_delete_marker_ttl", "allow_msg_ttl"},
		{"marker rollup", func(c *StreamConfig) { c.SubjectDeleteMarkerTTL, c.AllowMsgTTL = time.Minute, true }, "subject_delete_marker_ttl", "allow_rollup_hdrs"},
		{"rollup purge", func(c *StreamConfig) { c.AllowRollup, c.DenyPurge = true, true }, "allow_rollup_hdrs", "deny_purge"},
		{"per subject", func(c *StreamConfig) { c.DiscardNewPerSubject = true }, "discard_new_per_subject", "discard = \"new\""},
		{"republish cycle", func(c *StreamConfig) { c.Republish = &Republish{Destination: "orders.x"} }, "republish.destination", "cycle"},
		{"transform", func(c *StreamConfig) {
			c.SubjectTransform = &SubjectTransform{Source: "orders.*", Destination: "x.{{wildcard(2)}}"}
		}, "subject_transform.destination", "not a valid transform"},
		{"source filter and transforms", func(c *StreamConfig) {
			c.Sources = []Source{{Name: "A", FilterSubject: "a", SubjectTransforms: []SubjectTransform{{Source: "b", Destination: "c"}}}}
		}, "sources[0].filter_subject", "not both"},
		{"external api", func(c *StreamConfig) {
			c.Sources = []Source{{Name: "A", External: &External{APIPrefix: "$JS.API"}}}
		}, "sources[0].external.api", "own JetStream API"},
		{"metadata", func(c *StreamConfig) { c.Metadata = map[string]string{"_nats.x": "1"} }, "metadata", "reserved"},
		{"async memory", func(c *StreamConfig) { c.PersistMode, c.Storage = PersistAsync, StorageMemory }, "persist_mode", "file"},
		{"mirror first seq", func(c *StreamConfig) {
			c.Subjects, c.Mirror, c.FirstSeq = nil, &Source{Name: "X"}, 5
		}, "first_seq", "mirror"},
		{"enum", func(c *StreamConfig) { c.Retention = "forever" }, "retention", "not a retention policy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validStream()
			tc.mutate(&c)
			wantField(t, c.Validate(), tc.field, tc.msg)
		})
	}
}

func TestConsumerValidateRules(t *testing.T) {
	t.Parallel()
	if err := validConsumer().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*ConsumerConfig)
		field  string
		msg    string
	}{
		{"durable", func(c *ConsumerConfig) { c.Durable = "a b" }, "durable_name", "must not contain"},
		{"start seq", func(c *ConsumerConfig) { c.DeliverPolicy = DeliverByStartSequence }, "opt_start_seq", "needs opt_start_seq"},
		{"stray seq", func(c *ConsumerConfig) { c.OptStartSeq = 4 }, "opt_start_seq", "applies only"},
		{"start time", func(c *ConsumerConfig) { c.DeliverPolicy = DeliverByStartTime }, "opt_start_time", "needs opt_start_time"},
		{"last per subject", func(c *ConsumerConfig) { c.DeliverPolicy = DeliverLastPerSubject }, "filter_subject", "needs filter_subject"},
		{"both filters", func(c *ConsumerConfig) { c.FilterSubject, c.FilterSubjects = "a", []string{"b"} }, "filter_subjects", "not both"},
		{"filter overlap", func(c *ConsumerConfig) { c.FilterSubjects = []string{"a.>", "a.b"} }, "filter_subjects[1]", "overlaps"},
		{"backoff length", func(c *ConsumerConfig) {
			c.MaxDeliver, c.BackOff = 2, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
		}, "backoff", "max_deliver is 2"},
		{"backoff ack wait", func(c *ConsumerConfig) { c.AckWait, c.BackOff = time.Minute, []time.Duration{time.Second} }, "ack_wait", "first backoff"},
		{"push field on pull", func(c *ConsumerConfig) { c.Heartbeat = time.Second }, "heartbeat", "only to push"},
		{"pull field on push", func(c *ConsumerConfig) { c.DeliverSubject, c.MaxBatch = "deliver.x", 10 }, "max_batch", "only to pull"},
		{"flow control heartbeat", func(c *ConsumerConfig) { c.DeliverSubject, c.FlowControl = "deliver.x", true }, "flow_control", "needs heartbeat"},
		{"deliver wildcard", func(c *ConsumerConfig) { c.DeliverSubject = "deliver.*" }, "deliver_subject", "without wildcards"},
		{"sample", func(c *ConsumerConfig) { c.SampleFrequency = 101 }, "sample_freq", "0 to 100"},
		{"priority groups", func(c *ConsumerConfig) { c.PriorityPolicy = PriorityOverflow }, "priority_groups", "at least one"},
		{"ack flow control pull", func(c *ConsumerConfig) { c.AckPolicy = AckFlowControl }, "ack_policy", "deliver_subject"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validConsumer()
			tc.mutate(&c)
			wantField(t, c.Validate(), tc.field, tc.msg)
		})
	}
}

func TestUnderOwner(t *testing.T) {
	t.Parallel()
	for subj, want := range map[string]bool{
		"orders.created": true, "orders.>": true, "orders.*.x": true,
		"orders": false, "*.created": false, ">": false, "ordersx.y": false,
	} {
		if got := UnderOwner(subj, "orders"); got != want {
			t.Errorf("UnderOwner(%q, orders) = %v, want %v", subj, got, want)
		}
	}
}

func TestCheckAPILevel(t *testing.T) {
	t.Parallel()
	c := validStream()
	c.AllowMsgCounter = true
	c.AllowMsgTTL = false
	err := CheckAPILevel(c.Requirements(), 1, "2.11.4")
	wantField(t, err, "allow_msg_counter", "needs nats-server 2.12 or later (JetStream API level 2), but the server runs nats-server 2.11.4 (JetStream API level 1)")
	if err := CheckAPILevel(c.Requirements(), 2, ""); err != nil {
		t.Fatalf("level 2 should do: %v", err)
	}
	cc := validConsumer()
	cc.PauseUntil = time.Now().Add(time.Hour)
	wantField(t, CheckAPILevel(cc.Requirements(), 0, ""), "pause_until", "nats-server 2.11 or later")
}

func TestReplaceFields(t *testing.T) {
	t.Parallel()
	old := validStream()
	old.DenyDelete = true
	old.AllowMsgTTL = true
	nw := old
	nw.DenyDelete = false
	nw.Retention = RetentionWorkQueue
	nw.MaxMsgs = 10
	nw.AllowMsgTTL = true
	got := StreamReplaceFields(old, nw)
	if strings.Join(got, ",") != "retention,deny_delete" {
		t.Fatalf("StreamReplaceFields = %v", got)
	}
	if RetentionNeedsReplace(RetentionLimits, RetentionInterest) {
		t.Fatal("limits to interest is an in-place change")
	}
	if MirrorNeedsReplace(&Source{Name: "A"}, nil) {
		t.Fatal("removing a mirror promotes the stream in place")
	}
	oc := validConsumer()
	nc := oc
	nc.DeliverSubject = "push.x"
	nc.MaxAckPending = 5
	if got := ConsumerReplaceFields(oc, nc); strings.Join(got, ",") != "deliver_subject" {
		t.Fatalf("ConsumerReplaceFields = %v", got)
	}
}
