package jetstream

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jsm.go"
	"github.com/nats-io/nats-server/v2/server"
)

// Server limits the validation mirrors (nats-server's jetstream_api.go).
const (
	MaxNameLen        = 255
	MaxDescriptionLen = 4 * 1024
	MaxMetadataLen    = 128 * 1024
	MaxReplicas       = 5
)

// FieldError is one configuration mistake. Field is the path of the
// offending setting in snake_case, with list indexes in brackets
// ("sources[1].filter_subject"); Involves lists every top-level setting
// the rule reads, so a caller that does not know some values yet can skip
// rules that depend on them.
type FieldError struct {
	Field    string
	Involves []string
	Err      error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors flattens an error from Validate into its field errors.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var out []*FieldError
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return []*FieldError{{Err: err}}
}

// collector gathers field errors; the first top-level name of field is
// always among the involved settings.
type collector struct{ errs []error }

func (c *collector) add(field string, involves []string, format string, a ...any) {
	top := topLevel(field)
	if !slices.Contains(involves, top) {
		involves = append([]string{top}, involves...)
	}
	c.errs = append(c.errs, &FieldError{Field: field, Involves: involves, Err: fmt.Errorf(format, a...)})
}

func (c *collector) err() error { return errors.Join(c.errs...) }

func topLevel(field string) string {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return field
}

// The single-setting checks below also serve schema-level validators.

// ValidateName checks a stream or consumer name.
func ValidateName(n string) error {
	switch {
	case n == "":
		return errors.New("must not be empty")
	case len(n) > MaxNameLen:
		return fmt.Errorf("is %d characters long; the server allows at most %d", len(n), MaxNameLen)
	case !jsm.IsValidName(n):
		return fmt.Errorf("%q must not contain '.', '*', '>', '/', '\\', spaces or control characters", n)
	}
	for _, r := range n {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%q must not contain '.', '*', '>', '/', '\\', spaces or control characters", n)
		}
	}
	return nil
}

// ValidateSubject checks a subject or subject filter (wildcards allowed).
func ValidateSubject(s string) error {
	if !server.IsValidSubject(s) {
		return fmt.Errorf("%q is not a valid subject: use dot-separated tokens without spaces, with * for one token and > only as the last token", s)
	}
	return nil
}

// ValidateLiteralSubject checks a subject without wildcards.
func ValidateLiteralSubject(s string) error {
	if !server.IsValidLiteralSubject(s) {
		return fmt.Errorf("%q is not a valid subject without wildcards: use dot-separated tokens without spaces, * or >", s)
	}
	return nil
}

// ValidateOwner checks an owning service's name, which must be a subject
// prefix without wildcards, e.g. "orders" or "billing.invoices".
func ValidateOwner(o string) error {
	ok := o != "" && !strings.HasPrefix(o, "$")
	for _, tok := range strings.Split(o, ".") {
		ok = ok && jsm.IsValidName(tok)
	}
	if !ok {
		return fmt.Errorf("%q is not a service name: use one or more dot-separated tokens without spaces, wildcards or a leading $, e.g. \"orders\"", o)
	}
	return nil
}

// UnderOwner reports whether every subject subject can match lies under
// "<owner>.": the owner's tokens come first, literally, and more follow.
func UnderOwner(subject, owner string) bool {
	st, ot := strings.Split(subject, "."), strings.Split(owner, ".")
	if len(st) <= len(ot) {
		return false
	}
	for i, t := range ot {
		if st[i] != t {
			return false
		}
	}
	return true
}

// ValidateMetadataKey rejects keys the server or this package manage.
func ValidateMetadataKey(k string, stream bool) error {
	if strings.HasPrefix(k, "_nats.") {
		return fmt.Errorf("key %q is reserved: the server manages _nats.* keys", k)
	}
	if stream && k == OwnerMetadataKey {
		return fmt.Errorf("key %q is reserved: set owner instead", k)
	}
	if k == ManagedMetadataKey {
		return fmt.Errorf("key %q is reserved: the provider marks the streams and consumers it creates with it", k)
	}
	return nil
}

// Validate reports every mistake in the stream configuration that can be
// seen without a server, as *FieldError values joined together.
func (c StreamConfig) Validate() error {
	v := &collector{}
	if err := ValidateName(c.Name); err != nil {
		v.add("name", nil, "stream name %v", err)
	}
	if len(c.Description) > MaxDescriptionLen {
		v.add("description", nil, "is %d bytes long; the server allows at most %d", len(c.Description), MaxDescriptionLen)
	}
	if c.Owner != "" {
		if err := ValidateOwner(c.Owner); err != nil {
			v.add("owner", nil, "%v", err)
		}
	}
	for _, f := range []struct {
		field string
		err   error
	}{
		{"retention", errOnly(parseRetention(c.Retention))},
		{"storage", errOnly(parseStorage(c.Storage))},
		{"discard", errOnly(parseDiscard(c.Discard))},
		{"compression", errOnly(parseCompression(c.Compression))},
		{"persist_mode", errOnly(parsePersistMode(c.PersistMode))},
	} {
		if f.err != nil {
			v.add(f.field, nil, "%v", errors.Unwrap(f.err))
		}
	}

	c.validateSubjects(v)
	c.validateLimits(v)
	c.validateFeatures(v)

	if c.Mirror != nil {
		validateSource(v, "mirror", *c.Mirror, true)
	}
	seen := map[string]int{}
	for i, s := range c.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		validateSource(v, field, s, false)
		key := s.Name + "\x00" + s.apiPrefix() + "\x00" + s.FilterSubject
		for _, t := range s.SubjectTransforms {
			key += "\x00" + t.Source
		}
		if j, dup := seen[key]; dup {
			v.add(field, nil, "sources %d and %d read the same stream with the same filter; merge them or give them different filters", j, i)
		}
		seen[key] = i
	}

	if t := c.SubjectTransform; t != nil {
		validateTransform(v, "subject_transform", *t)
	}
	if r := c.Republish; r != nil {
		c.validateRepublish(v, *r)
	}
	if p := c.Placement; p != nil && p.Cluster != "" && !jsm.IsValidName(p.Cluster) {
		v.add("placement.cluster", nil, "%q is not a cluster name", p.Cluster)
	}
	validateMetadata(v, c.Metadata, true)
	return v.err()
}

func errOnly[T any](_ T, err error) error { return err }

func (c StreamConfig) validateSubjects(v *collector) {
	switch {
	case c.Mirror != nil && len(c.Subjects) > 0:
		v.add("subjects", []string{"mirror"}, "a mirror stores exactly what its origin stores and takes no subjects; remove subjects or the mirror")
	case c.Mirror == nil && len(c.Sources) == 0 && len(c.Subjects) == 0:
		v.add("subjects", []string{"mirror", "sources"}, "the stream captures nothing: set subjects, a mirror, or at least one source")
	}
	if c.Mirror != nil && len(c.Sources) > 0 {
		v.add("sources", []string{"mirror"}, "a stream is either a mirror or sources other streams, not both; remove the mirror or the sources")
	}
	for i, s := range c.Subjects {
		field := fmt.Sprintf("subjects[%d]", i)
		if err := ValidateSubject(s); err != nil {
			v.add(field, nil, "%v", err)
			continue
		}
		if s == ">" && (!c.NoAck || c.Replicas > 1) {
			v.add(field, []string{"no_ack", "replicas"}, "capturing every subject (>) needs no_ack = true and replicas = 1")
		}
		if !c.NoAck {
			for _, ns := range []string{"$JS.>", "$JSC.>", "$NRG.>", "$SYS.>"} {
				if server.SubjectsCollide(s, ns) && !server.SubjectsCollide(s, "$JS.EVENT.>") && !server.SubjectsCollide(s, "$SYS.ACCOUNT.>") {
					v.add(field, []string{"no_ack"}, "%q overlaps the server's own %s subjects; choose another subject or set no_ack = true", s, ns)
					break
				}
			}
		}
		for j, other := range c.Subjects[:i] {
			if other == s {
				v.add(field, nil, "%q is listed twice (also at subjects[%d]); remove one", s, j)
			} else if server.SubjectsCollide(other, s) {
				v.add(field, nil, "%q overlaps %q (subjects[%d]): a message could match both; make the subjects disjoint", s, other, j)
			}
		}
		if c.Owner != "" && ValidateOwner(c.Owner) == nil && !UnderOwner(s, c.Owner) {
			v.add(field, []string{"owner"}, "%q is not under %q: a service publishes only its own events, so every subject must start with %q", s, c.Owner+".", c.Owner+".")
		}
	}
}

func (c StreamConfig) validateLimits(v *collector) {
	for _, l := range []struct {
		field string
		val   int64
	}{
		{"max_msgs", c.MaxMsgs},
		{"max_bytes", c.MaxBytes},
		{"max_msg_size", int64(c.MaxMsgSize)},
		{"max_msgs_per_subject", c.MaxMsgsPerSubject},
		{"max_consumers", int64(c.MaxConsumers)},
	} {
		if l.val < Unlimited {
			v.add(l.field, nil, "is %d; use -1 for no limit or a positive number", l.val)
		}
	}
	if c.MaxAge < 0 {
		v.add("max_age", nil, "must not be negative; use 0 for no age limit")
	} else if c.MaxAge > 0 && c.MaxAge < 100*time.Millisecond {
		v.add("max_age", nil, "is %s; the server needs at least 100ms (or 0 for no age limit)", c.MaxAge)
	}
	switch {
	case c.DuplicateWindow < 0:
		v.add("duplicate_window", nil, "must not be negative")
	case c.DuplicateWindow > 0 && c.DuplicateWindow < 100*time.Millisecond:
		v.add("duplicate_window", nil, "is %s; the server needs at least 100ms", c.DuplicateWindow)
	case c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge:
		v.add("duplicate_window", []string{"max_age"}, "%s is longer than max_age (%s): messages would expire before their duplicates are detected; shorten duplicate_window or raise max_age", c.DuplicateWindow, c.MaxAge)
	}
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		v.add("replicas", nil, "is %d; use 1 to %d", c.Replicas, MaxReplicas)
	}
	if c.DiscardNewPerSubject {
		if c.Discard != DiscardNew {
			v.add("discard_new_per_subject", []string{"discard"}, "needs discard = \"new\"")
		}
		if c.MaxMsgsPerSubject <= 0 {
			v.add("discard_new_per_subject", []string{"max_msgs_per_subject"}, "needs max_msgs_per_subject to be a positive limit")
		}
	}
	if c.ConsumerLimits.InactiveThreshold < 0 {
		v.add("consumer_limits.inactive_threshold", nil, "must not be negative")
	}
	if c.ConsumerLimits.MaxAckPending < 0 {
		v.add("consumer_limits.max_ack_pending", nil, "must not be negative; use 0 for no limit")
	}
}

func (c StreamConfig) validateFeatures(v *collector) {
	if c.DenyPurge && c.AllowRollup {
		v.add("allow_rollup_hdrs", []string{"deny_purge"}, "a roll-up purges older messages, which deny_purge forbids; unset one of them")
	}
	if c.AllowMsgCounter {
		if c.Retention != "" && c.Retention != RetentionLimits {
			v.add("allow_msg_counter", []string{"retention"}, "a counter stream needs retention = \"limits\"")
		}
		if c.Discard == DiscardNew {
			v.add("allow_msg_counter", []string{"discard"}, "a counter stream cannot use discard = \"new\"")
		}
		if c.AllowMsgTTL {
			v.add("allow_msg_counter", []string{"allow_msg_ttl"}, "a counter stream cannot use per-message TTLs; unset allow_msg_ttl")
		}
		if c.AllowMsgSchedules {
			v.add("allow_msg_counter", []string{"allow_msg_schedules"}, "a counter stream cannot use message schedules; unset allow_msg_schedules")
		}
		if c.Mirror != nil {
			v.add("allow_msg_counter", []string{"mirror"}, "a mirror cannot be a counter stream")
		}
	}
	switch {
	case c.SubjectDeleteMarkerTTL < 0:
		v.add("subject_delete_marker_ttl", nil, "must not be negative")
	case c.SubjectDeleteMarkerTTL > 0:
		if c.SubjectDeleteMarkerTTL < time.Second {
			v.add("subject_delete_marker_ttl", nil, "is %s; the server needs at least 1s", c.SubjectDeleteMarkerTTL)
		}
		if !c.AllowMsgTTL {
			v.add("subject_delete_marker_ttl", []string{"allow_msg_ttl"}, "delete markers are messages with a TTL: set allow_msg_ttl = true")
		}
		if !c.AllowRollup {
			v.add("subject_delete_marker_ttl", []string{"allow_rollup_hdrs"}, "delete markers roll up their subject: set allow_rollup_hdrs = true")
		}
		if c.Mirror != nil {
			v.add("subject_delete_marker_ttl", []string{"mirror"}, "a mirror cannot add delete markers, which would diverge from its origin; remove subject_delete_marker_ttl")
		}
	}
	if c.AllowMsgSchedules {
		if c.Discard == DiscardNew {
			v.add("allow_msg_schedules", []string{"discard"}, "message schedules cannot use discard = \"new\"")
		}
		if !c.AllowRollup {
			v.add("allow_msg_schedules", []string{"allow_rollup_hdrs"}, "message schedules roll up their subject: set allow_rollup_hdrs = true")
		}
		if len(c.Sources) > 0 {
			v.add("allow_msg_schedules", []string{"sources"}, "a sourced stream cannot use message schedules")
		}
		if c.Mirror != nil {
			v.add("allow_msg_schedules", []string{"mirror"}, "a mirror cannot use message schedules")
		}
	}
	if c.Mirror != nil {
		for _, f := range []struct {
			field string
			set   bool
		}{{"allow_atomic", c.AllowAtomic}, {"allow_batched", c.AllowBatched}} {
			if f.set {
				v.add(f.field, []string{"mirror"}, "a mirror takes no publishes, so it cannot allow batch publishing")
			}
		}
		if c.FirstSeq > 0 {
			v.add("first_seq", []string{"mirror"}, "a mirror keeps its origin's sequence numbers; remove first_seq")
		}
	}
	if c.PersistMode == PersistAsync {
		if c.Storage == StorageMemory {
			v.add("persist_mode", []string{"storage"}, "async persistence needs storage = \"file\"")
		}
		if c.Replicas > 1 {
			v.add("persist_mode", []string{"replicas"}, "async persistence is not supported on replicated streams; use replicas = 1")
		}
		if c.AllowAtomic {
			v.add("persist_mode", []string{"allow_atomic"}, "async persistence cannot be combined with atomic batch publishing")
		}
	}
}

func (s Source) apiPrefix() string {
	if s.External != nil {
		return s.External.APIPrefix
	}
	if s.Domain != "" {
		return DomainAPIPrefix(s.Domain)
	}
	return ""
}

func validateSource(v *collector, field string, s Source, mirror bool) {
	what := "source"
	if mirror {
		what = "mirror"
	}
	if err := ValidateName(s.Name); err != nil {
		v.add(field+".name", nil, "%s stream name %v", what, err)
	}
	if s.FilterSubject != "" {
		if err := ValidateSubject(s.FilterSubject); err != nil {
			v.add(field+".filter_subject", nil, "%v", err)
		}
		if len(s.SubjectTransforms) > 0 {
			v.add(field+".filter_subject", nil, "use filter_subject or subject_transforms, not both: a transform's source is its filter")
		}
	}
	for i, t := range s.SubjectTransforms {
		tf := fmt.Sprintf("%s.subject_transforms[%d]", field, i)
		validateTransform(v, tf, t)
		for j, o := range s.SubjectTransforms[:i] {
			if server.SubjectsCollide(o.Source, t.Source) {
				v.add(tf+".source", nil, "%q overlaps %q (subject_transforms[%d]); make the transform sources disjoint", t.Source, o.Source, j)
			}
		}
	}
	if s.Domain != "" {
		if !jsm.IsValidName(s.Domain) {
			v.add(field+".domain", nil, "%q is not a JetStream domain name", s.Domain)
		}
		if s.External != nil {
			v.add(field+".domain", nil, "domain is shorthand for external.api = \"$JS.<domain>.API\"; set one of them")
		}
	}
	if e := s.External; e != nil {
		if e.APIPrefix != "" {
			if !server.IsValidPublishSubject(e.APIPrefix) {
				v.add(field+".external.api", nil, "%q must be a subject without wildcards, e.g. \"$JS.hub.API\"", e.APIPrefix)
			} else if server.SubjectsCollide(e.APIPrefix, "$JS.API") {
				v.add(field+".external.api", nil, "%q is this account's own JetStream API; use the prefix imported from the other account or domain", e.APIPrefix)
			}
		}
		if e.DeliverPrefix != "" && !server.IsValidPublishSubject(e.DeliverPrefix) {
			v.add(field+".external.deliver", nil, "%q must be a subject without wildcards", e.DeliverPrefix)
		}
	}
	if cs := s.Consumer; cs != nil {
		if err := ValidateName(cs.Name); err != nil {
			v.add(field+".consumer.name", nil, "consumer name %v", err)
		}
		if err := ValidateLiteralSubject(cs.DeliverSubject); err != nil {
			v.add(field+".consumer.deliver_subject", nil, "%v", err)
		}
		if s.StartSeq != 0 || !s.StartTime.IsZero() {
			v.add(field+".consumer", nil, "a durable source consumer keeps its own position; remove start_seq and start_time")
		}
		if s.FilterSubject != "" {
			v.add(field+".consumer", nil, "a durable source consumer carries its own filter; remove filter_subject")
		}
	}
	if s.StartSeq != 0 && !s.StartTime.IsZero() {
		v.add(field+".start_time", nil, "set start_seq or start_time, not both")
	}
}

func validateTransform(v *collector, field string, t SubjectTransform) {
	if t.Source != "" {
		if err := ValidateSubject(t.Source); err != nil {
			v.add(field+".source", nil, "%v", err)
			return
		}
	}
	if err := server.ValidateMapping(t.Source, t.Destination); err != nil {
		v.add(field+".destination", nil, "%q is not a valid transform of %q: %v", t.Destination, t.Source, err)
	}
}

func (c StreamConfig) validateRepublish(v *collector, r Republish) {
	src := r.Source
	if src == "" {
		src = ">"
	}
	if err := ValidateSubject(src); err != nil {
		v.add("republish.source", nil, "%v", err)
		return
	}
	if r.Destination == "" {
		v.add("republish.destination", nil, "must be set: it is where stored messages are republished")
		return
	}
	if err := ValidateSubject(r.Destination); err != nil {
		v.add("republish.destination", nil, "%v", err)
		return
	}
	for _, s := range c.Subjects {
		if server.SubjectsCollide(r.Destination, s) {
			v.add("republish.destination", []string{"subjects"}, "%q overlaps the stream subject %q: republished messages would be stored again, forming a cycle", r.Destination, s)
			return
		}
	}
	if _, err := server.NewSubjectTransform(src, r.Destination); err != nil {
		v.add("republish.destination", nil, "cannot republish %q to %q: %v", src, r.Destination, err)
	}
}

func validateMetadata(v *collector, md map[string]string, stream bool) {
	size := 0
	keys := make([]string, 0, len(md))
	for k, val := range md {
		size += len(k) + len(val)
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := ValidateMetadataKey(k, stream); err != nil {
			v.add("metadata", nil, "%v", err)
		}
	}
	if size > MaxMetadataLen {
		v.add("metadata", nil, "is %d bytes; the server allows at most %d", size, MaxMetadataLen)
	}
}

var groupNameRe = regexp.MustCompile(`^[a-zA-Z0-9/_=-]{1,16}$`)

// Validate reports every mistake in the consumer configuration that can be
// seen without a server, as *FieldError values joined together.
func (c ConsumerConfig) Validate() error {
	v := &collector{}
	if err := ValidateName(c.Stream); err != nil {
		v.add("stream", nil, "stream name %v", err)
	}
	if err := ValidateName(c.Durable); err != nil {
		v.add("durable_name", nil, "consumer name %v", err)
	}
	if len(c.Description) > MaxDescriptionLen {
		v.add("description", nil, "is %d bytes long; the server allows at most %d", len(c.Description), MaxDescriptionLen)
	}
	for _, f := range []struct {
		field string
		err   error
	}{
		{"deliver_policy", errOnly(parseDeliverPolicy(c.DeliverPolicy))},
		{"ack_policy", errOnly(parseAckPolicy(c.AckPolicy))},
		{"replay_policy", errOnly(parseReplayPolicy(c.ReplayPolicy))},
		{"priority_policy", errOnly(parsePriorityPolicy(c.PriorityPolicy))},
	} {
		if f.err != nil {
			v.add(f.field, nil, "%v", errors.Unwrap(f.err))
		}
	}
	c.validateStart(v)
	c.validateFilters(v)
	c.validateAcks(v)
	if c.IsPush() {
		c.validatePush(v)
	} else {
		c.validatePull(v)
	}
	if c.SampleFrequency < 0 || c.SampleFrequency > 100 {
		v.add("sample_freq", nil, "is %d; use a percentage from 0 to 100", c.SampleFrequency)
	}
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		v.add("replicas", nil, "is %d; use 0 (the stream's) to %d", c.Replicas, MaxReplicas)
	}
	if c.InactiveThreshold < 0 {
		v.add("inactive_threshold", nil, "must not be negative")
	}
	validateMetadata(v, c.Metadata, false)
	return v.err()
}

func (c ConsumerConfig) validateStart(v *collector) {
	switch c.DeliverPolicy {
	case DeliverByStartSequence:
		if c.OptStartSeq == 0 {
			v.add("opt_start_seq", []string{"deliver_policy"}, "deliver_policy = \"by_start_sequence\" needs opt_start_seq (the first stream sequence to deliver)")
		}
	case DeliverByStartTime:
		if c.OptStartTime.IsZero() {
			v.add("opt_start_time", []string{"deliver_policy"}, "deliver_policy = \"by_start_time\" needs opt_start_time (an RFC 3339 time)")
		}
	case DeliverLastPerSubject:
		if c.FilterSubject == "" && len(c.FilterSubjects) == 0 {
			v.add("filter_subject", []string{"deliver_policy", "filter_subjects"}, "deliver_policy = \"last_per_subject\" needs filter_subject or filter_subjects")
		}
	}
	if c.OptStartSeq != 0 && c.DeliverPolicy != DeliverByStartSequence {
		v.add("opt_start_seq", []string{"deliver_policy"}, "applies only with deliver_policy = \"by_start_sequence\"; set that policy or remove opt_start_seq")
	}
	if !c.OptStartTime.IsZero() && c.DeliverPolicy != DeliverByStartTime {
		v.add("opt_start_time", []string{"deliver_policy"}, "applies only with deliver_policy = \"by_start_time\"; set that policy or remove opt_start_time")
	}
}

func (c ConsumerConfig) validateFilters(v *collector) {
	if c.FilterSubject != "" && len(c.FilterSubjects) > 0 {
		v.add("filter_subjects", []string{"filter_subject"}, "set filter_subject or filter_subjects, not both")
	}
	filters := c.FilterSubjects
	field := func(i int) string { return fmt.Sprintf("filter_subjects[%d]", i) }
	if c.FilterSubject != "" {
		filters = []string{c.FilterSubject}
		field = func(int) string { return "filter_subject" }
	}
	for i, f := range filters {
		if f == "" {
			v.add(field(i), nil, "must not be empty")
			continue
		}
		if err := ValidateSubject(f); err != nil {
			v.add(field(i), nil, "%v", err)
			continue
		}
		for j, o := range filters[:i] {
			if server.SubjectsCollide(o, f) {
				v.add(field(i), nil, "%q overlaps %q (filter_subjects[%d]); make the filters disjoint", f, o, j)
			}
		}
	}
}

func (c ConsumerConfig) validateAcks(v *collector) {
	if c.AckWait < 0 {
		v.add("ack_wait", nil, "must not be negative")
	}
	if c.MaxDeliver < Unlimited {
		v.add("max_deliver", nil, "is %d; use -1 for no limit or a positive number", c.MaxDeliver)
	}
	if c.MaxAckPending < Unlimited {
		v.add("max_ack_pending", nil, "is %d; use -1 for no limit or a positive number", c.MaxAckPending)
	}
	for i, b := range c.BackOff {
		if b <= 0 {
			v.add(fmt.Sprintf("backoff[%d]", i), nil, "must be a positive duration")
		}
	}
	if n := len(c.BackOff); n > 0 {
		if c.MaxDeliver > 0 && n > c.MaxDeliver {
			v.add("backoff", []string{"max_deliver"}, "has %d intervals but max_deliver is %d: a message is redelivered at most max_deliver-1 times; give at most %d intervals or raise max_deliver", n, c.MaxDeliver, c.MaxDeliver)
		}
		if c.AckWait != 0 && c.AckWait != c.BackOff[0] {
			v.add("ack_wait", []string{"backoff"}, "the server takes ack_wait from the first backoff interval (%s); remove ack_wait or set it to %s", c.BackOff[0], c.BackOff[0])
		}
		if c.AckPolicy == AckNone {
			v.add("backoff", []string{"ack_policy"}, "redelivery backoff needs acknowledgements; remove backoff or use ack_policy = \"explicit\"")
		}
	}
	if c.AckPolicy == AckFlowControl {
		if !c.IsPush() {
			v.add("ack_policy", []string{"deliver_subject"}, "\"flow_control\" acknowledges through push flow control: set deliver_subject")
		}
		if !c.FlowControl || c.Heartbeat != time.Second {
			v.add("ack_policy", []string{"flow_control", "heartbeat"}, "\"flow_control\" needs flow_control = true and heartbeat = \"1s\"")
		}
		if c.MaxAckPending < 0 {
			v.add("ack_policy", []string{"max_ack_pending"}, "\"flow_control\" needs a max_ack_pending limit; remove max_ack_pending = -1")
		}
		if c.AckWait != 0 || len(c.BackOff) > 0 || c.MaxDeliver > 0 {
			v.add("ack_policy", []string{"ack_wait", "backoff", "max_deliver"}, "\"flow_control\" has no ack timeout or redelivery: remove ack_wait, backoff and max_deliver")
		}
	}
}

func (c ConsumerConfig) validatePush(v *collector) {
	if err := ValidateLiteralSubject(c.DeliverSubject); err != nil {
		v.add("deliver_subject", nil, "%v", err)
	}
	if c.DeliverGroup != "" && !jsm.IsValidName(c.DeliverGroup) {
		v.add("deliver_group", nil, "%q is not a queue group name", c.DeliverGroup)
	}
	pullOnly := []struct {
		field string
		set   bool
	}{
		{"max_waiting", c.MaxWaiting != 0},
		{"max_batch", c.MaxBatch != 0},
		{"max_expires", c.MaxExpires != 0},
		{"max_bytes", c.MaxBytes != 0},
		{"priority_policy", c.PriorityPolicy != "" && c.PriorityPolicy != PriorityNone},
		{"priority_groups", len(c.PriorityGroups) > 0},
		{"priority_timeout", c.PriorityTimeout != 0},
	}
	for _, f := range pullOnly {
		if f.set {
			v.add(f.field, []string{"deliver_subject"}, "applies only to pull consumers; remove %s or deliver_subject", f.field)
		}
	}
	if c.Heartbeat < 0 {
		v.add("heartbeat", nil, "must not be negative")
	} else if c.Heartbeat > 0 && c.Heartbeat < 100*time.Millisecond {
		v.add("heartbeat", nil, "is %s; the server needs at least 100ms", c.Heartbeat)
	}
	if c.FlowControl && c.Heartbeat == 0 {
		v.add("flow_control", []string{"heartbeat"}, "needs heartbeat: a stalled flow is detected through idle heartbeats")
	}
	if c.AckPolicy == AckNone && c.MaxAckPending > 0 {
		v.add("max_ack_pending", []string{"ack_policy"}, "limits unacknowledged messages, which ack_policy = \"none\" never has; remove max_ack_pending")
	}
}

func (c ConsumerConfig) validatePull(v *collector) {
	pushOnly := []struct {
		field string
		set   bool
	}{
		{"deliver_group", c.DeliverGroup != ""},
		{"heartbeat", c.Heartbeat != 0},
		{"flow_control", c.FlowControl},
		{"rate_limit_bps", c.RateLimitBPS != 0},
	}
	for _, f := range pushOnly {
		if f.set {
			v.add(f.field, []string{"deliver_subject"}, "applies only to push consumers; set deliver_subject or remove %s", f.field)
		}
	}
	if c.MaxWaiting < 0 {
		v.add("max_waiting", nil, "must not be negative")
	}
	if c.MaxBatch < 0 {
		v.add("max_batch", nil, "must not be negative")
	}
	if c.MaxBytes < 0 {
		v.add("max_bytes", nil, "must not be negative")
	}
	if c.MaxExpires < 0 {
		v.add("max_expires", nil, "must not be negative")
	} else if c.MaxExpires > 0 && c.MaxExpires < time.Millisecond {
		v.add("max_expires", nil, "is %s; the server needs at least 1ms", c.MaxExpires)
	}
	if c.PriorityTimeout < 0 {
		v.add("priority_timeout", nil, "must not be negative")
	}
	if c.PriorityPolicy != "" && c.PriorityPolicy != PriorityNone {
		if len(c.PriorityGroups) == 0 {
			v.add("priority_groups", []string{"priority_policy"}, "priority_policy = %q needs at least one priority group", c.PriorityPolicy)
		}
		for i, g := range c.PriorityGroups {
			if !groupNameRe.MatchString(g) {
				v.add(fmt.Sprintf("priority_groups[%d]", i), nil, "%q is not a group name: use 1 to 16 characters from a-z, A-Z, 0-9, /, _, = and -", g)
			}
		}
		if c.PriorityTimeout != 0 && c.PriorityPolicy != PriorityPinnedClient {
			v.add("priority_timeout", []string{"priority_policy"}, "applies only with priority_policy = \"pinned_client\"")
		}
	} else {
		if len(c.PriorityGroups) > 0 {
			v.add("priority_groups", []string{"priority_policy"}, "need a priority_policy (overflow, pinned_client or prioritized)")
		}
		if c.PriorityTimeout != 0 {
			v.add("priority_timeout", []string{"priority_policy"}, "applies only with priority_policy = \"pinned_client\"")
		}
	}
}
