package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// natsMsgRe matches a diagnostic's text however Terraform wraps its lines.
func natsMsgRe(phrase string) *regexp.Regexp {
	parts := strings.Fields(phrase)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `\s+`))
}

type natsValidationCase struct {
	name string
	body string // attributes of the resource under test
	want string // a phrase of the expected diagnostic
}

// natsValidationSteps runs each case as a plan that must fail. No server is
// needed: everything here is rejected before the provider connects.
func natsValidationSteps(resourceType string, required string, cases []natsValidationCase) []resource.TestStep {
	provider := "provider \"pivot\" {\n  nats {\n    servers = [\"nats://127.0.0.1:1\"]\n  }\n}\n"
	steps := make([]resource.TestStep, 0, len(cases))
	for _, c := range cases {
		// A case may override a required attribute.
		var keep []string
		for _, line := range strings.Split(required, "\n") {
			attrName, _, _ := strings.Cut(line, "=")
			if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(strings.TrimSpace(attrName)) + `\s*=`).MatchString(c.body) {
				keep = append(keep, line)
			}
		}
		steps = append(steps, resource.TestStep{
			Config:      provider + fmt.Sprintf("# %s\nresource %q \"test\" {\n%s\n%s\n}\n", c.name, resourceType, strings.Join(keep, "\n"), c.body),
			PlanOnly:    true,
			ExpectError: natsMsgRe(c.want),
		})
	}
	return steps
}

func TestAccNATSStream_validation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 4097)
	cases := []natsValidationCase{
		// Schema-level rules.
		{"retention enum", `subjects = ["a"]` + "\n" + `retention = "forever"`, `value must be one of`},
		{"storage enum", `subjects = ["a"]` + "\n" + `storage = "disk"`, `value must be one of`},
		{"discard enum", `subjects = ["a"]` + "\n" + `discard = "oldest"`, `value must be one of`},
		{"compression enum", `subjects = ["a"]` + "\n" + `compression = "gzip"`, `value must be one of`},
		{"persist enum", `subjects = ["a"]` + "\n" + `persist_mode = "lazy"`, `value must be one of`},
		{"limit zero", `subjects = ["a"]` + "\n" + `max_msgs = 0`, `0 is not a limit: use -1 for no limit, or a positive number`},
		{"limit negative", `subjects = ["a"]` + "\n" + `max_bytes = -2`, `-2 is not a limit`},
		{"msg size int32", `subjects = ["a"]` + "\n" + `max_msg_size = 3000000000`, `value must be at most 2147483647`},
		{"duration syntax", `subjects = ["a"]` + "\n" + `max_age = "3 days"`, `"3 days" is not a duration`},
		{"duration negative", `subjects = ["a"]` + "\n" + `duplicate_window = "-1s"`, `"-1s" is negative`},
		{"replicas", `subjects = ["a"]` + "\n" + `replicas = 7`, `value must be between 1 and 5`},
		{"first seq", `subjects = ["a"]` + "\n" + `first_seq = 0`, `value must be at least 1`},
		{"start time", `sources = [{ name = "A", start_time = "yesterday" }]`, `"yesterday" is not an RFC 3339 time`},
		{"empty placement", `subjects = ["a"]` + "\n" + `placement = {}`, `Set at least one of cluster, tags`},
		{"empty consumer limits", `subjects = ["a"]` + "\n" + `consumer_limits = {}`, `Set at least one of inactive_threshold, max_ack_pending`},
		{"consumer limits ack", `subjects = ["a"]` + "\n" + `consumer_limits = { max_ack_pending = 0 }`, `value must be at least 1`},
		{"consumer limits duration", `subjects = ["a"]` + "\n" + `consumer_limits = { inactive_threshold = "1 hour" }`, `"1 hour" is not a duration`},
		{"empty description", `subjects = ["a"]` + "\n" + `description = ""`, `string length must be at least 1`},
		{"empty subjects", `subjects = []`, `list must contain at least 1 elements`},
		{"empty sources", `sources = []`, `list must contain at least 1 elements`},
		{"empty transforms", `sources = [{ name = "A", subject_transforms = [] }]`, `list must contain at least 1 elements`},
		{"empty placement tags", `subjects = ["a"]` + "\n" + `placement = { tags = [] }`, `list must contain at least 1 elements`},
		{"empty source filter", `sources = [{ name = "A", filter_subject = "" }]`, `string length must be at least 1`},
		{"source start seq", `sources = [{ name = "A", start_seq = 0 }]`, `value must be at least 1`},
		// Names and subjects.
		{"name chars", `subjects = ["a"]` + "\n" + `name = "a.b"`, `must not contain '.', '*', '>'`},
		{"name length", fmt.Sprintf("subjects = [\"a\"]\nname = %q", strings.Repeat("N", 256)), `is 256 characters long; the server allows at most 255`},
		{"description length", fmt.Sprintf("subjects = [\"a\"]\ndescription = %q", long), `is 4097 bytes long`},
		{"subject syntax", `subjects = ["orders..created"]`, `"orders..created" is not a valid subject`},
		{"subject overlap", `subjects = ["orders.>", "orders.created"]`, `"orders.created" overlaps "orders.>" (subjects[0])`},
		{"subject twice", `subjects = ["a", "a"]`, `"a" is listed twice`},
		{"capture all", `subjects = [">"]`, `capturing every subject (>) needs no_ack = true`},
		{"system subjects", `subjects = ["$JS.API.>"]`, `overlaps the server's own $JS.> subjects`},
		{"owner name", `subjects = ["a.b"]` + "\n" + `owner = "bill*"`, `"bill*" is not a service name`},
		{"owner subjects", `subjects = ["orders.created", "billing.paid"]` + "\n" + `owner = "orders"`, `"billing.paid" is not under "orders."`},
		// What the stream captures.
		{"captures nothing", ``, `the stream captures nothing: set subjects, a mirror, or at least one source`},
		{"mirror subjects", `subjects = ["a"]` + "\n" + `mirror = { name = "ORIGIN" }`, `a mirror stores exactly what its origin stores and takes no subjects`},
		{"mirror sources", `mirror = { name = "ORIGIN" }` + "\n" + `sources = [{ name = "OTHER" }]`, `a stream is either a mirror or sources other streams, not both`},
		// Limits.
		{"max age floor", `subjects = ["a"]` + "\n" + `max_age = "10ms"`, `is 10ms; the server needs at least 100ms`},
		{"dupe window floor", `subjects = ["a"]` + "\n" + `duplicate_window = "10ms"`, `is 10ms; the server needs at least 100ms`},
		{"dupe window vs max age", `subjects = ["a"]` + "\n" + `max_age = "1m"` + "\n" + `duplicate_window = "5m"`, `5m0s is longer than max_age (1m0s)`},
		{"per subject discard", `subjects = ["a"]` + "\n" + `discard_new_per_subject = true` + "\n" + `max_msgs_per_subject = 5`, `discard_new_per_subject: needs discard = "new"`},
		{"per subject limit", `subjects = ["a"]` + "\n" + `discard_new_per_subject = true` + "\n" + `discard = "new"`, `needs max_msgs_per_subject to be a positive limit`},
		// Feature combinations.
		{"rollup purge", `subjects = ["a"]` + "\n" + `allow_rollup_hdrs = true` + "\n" + `deny_purge = true`, `a roll-up purges older messages, which deny_purge forbids`},
		{"counter retention", `subjects = ["a"]` + "\n" + `allow_msg_counter = true` + "\n" + `retention = "interest"`, `a counter stream needs retention = "limits"`},
		{"counter discard", `subjects = ["a"]` + "\n" + `allow_msg_counter = true` + "\n" + `discard = "new"`, `a counter stream cannot use discard = "new"`},
		{"counter ttl", `subjects = ["a"]` + "\n" + `allow_msg_counter = true` + "\n" + `allow_msg_ttl = true`, `a counter stream cannot use per-message TTLs`},
		{"counter schedules", `subjects = ["a"]` + "\n" + `allow_msg_counter = true` + "\n" + `allow_msg_schedules = true` + "\n" + `allow_rollup_hdrs = true`, `a counter stream cannot use message schedules`},
		{"counter mirror", `mirror = { name = "ORIGIN" }` + "\n" + `allow_msg_counter = true`, `a mirror cannot be a counter stream`},
		{"marker floor", `subjects = ["a"]` + "\n" + `subject_delete_marker_ttl = "500ms"` + "\n" + `allow_msg_ttl = true` + "\n" + `allow_rollup_hdrs = true`, `is 500ms; the server needs at least 1s`},
		{"marker ttl", `subjects = ["a"]` + "\n" + `subject_delete_marker_ttl = "1m"` + "\n" + `allow_rollup_hdrs = true`, `delete markers are messages with a TTL: set allow_msg_ttl = true`},
		{"marker rollup", `subjects = ["a"]` + "\n" + `subject_delete_marker_ttl = "1m"` + "\n" + `allow_msg_ttl = true`, `delete markers roll up their subject: set allow_rollup_hdrs = true`},
		{"marker mirror", `mirror = { name = "ORIGIN" }` + "\n" + `subject_delete_marker_ttl = "1m"` + "\n" + `allow_msg_ttl = true` + "\n" + `allow_rollup_hdrs = true`, `a mirror cannot add delete markers`},
		{"schedules discard", `subjects = ["a"]` + "\n" + `allow_msg_schedules = true` + "\n" + `allow_rollup_hdrs = true` + "\n" + `discard = "new"`, `message schedules cannot use discard = "new"`},
		{"schedules rollup", `subjects = ["a"]` + "\n" + `allow_msg_schedules = true`, `message schedules roll up their subject`},
		{"schedules sources", `sources = [{ name = "A" }]` + "\n" + `allow_msg_schedules = true` + "\n" + `allow_rollup_hdrs = true`, `a sourced stream cannot use message schedules`},
		{"schedules mirror", `mirror = { name = "A" }` + "\n" + `allow_msg_schedules = true` + "\n" + `allow_rollup_hdrs = true`, `a mirror cannot use message schedules`},
		{"mirror atomic", `mirror = { name = "A" }` + "\n" + `allow_atomic = true`, `allow_atomic: a mirror takes no publishes`},
		{"mirror batched", `mirror = { name = "A" }` + "\n" + `allow_batched = true`, `allow_batched: a mirror takes no publishes`},
		{"mirror first seq", `mirror = { name = "A" }` + "\n" + `first_seq = 10`, `a mirror keeps its origin's sequence numbers`},
		{"async memory", `subjects = ["a"]` + "\n" + `persist_mode = "async"` + "\n" + `storage = "memory"`, `async persistence needs storage = "file"`},
		{"async replicas", `subjects = ["a"]` + "\n" + `persist_mode = "async"` + "\n" + `replicas = 3`, `async persistence is not supported on replicated streams`},
		{"async atomic", `subjects = ["a"]` + "\n" + `persist_mode = "async"` + "\n" + `allow_atomic = true`, `async persistence cannot be combined with atomic batch publishing`},
		// Mirrors and sources.
		{"source name", `sources = [{ name = "A.B" }]`, `source stream name "A.B" must not contain`},
		{"mirror name", `mirror = { name = "A B" }`, `mirror stream name "A B" must not contain`},
		{"source filter syntax", `sources = [{ name = "A", filter_subject = "a..b" }]`, `"a..b" is not a valid subject`},
		{"source filter and transforms", `sources = [{ name = "A", filter_subject = "a", subject_transforms = [{ source = "b", destination = "c" }] }]`, `use filter_subject or subject_transforms, not both`},
		{"transform source", `sources = [{ name = "A", subject_transforms = [{ source = "a..b", destination = "c" }] }]`, `"a..b" is not a valid subject`},
		{"transform destination", `sources = [{ name = "A", subject_transforms = [{ source = "a.*", destination = "b.{{wildcard(3)}}" }] }]`, `is not a valid transform of "a.*"`},
		{"transform overlap", `sources = [{ name = "A", subject_transforms = [{ source = "a.>", destination = "x.>" }, { source = "a.b", destination = "y" }] }]`, `"a.b" overlaps "a.>" (subject_transforms[0])`},
		{"duplicate sources", `sources = [{ name = "A" }, { name = "A" }]`, `sources 0 and 1 read the same stream with the same filter`},
		{"domain name", `sources = [{ name = "A", domain = "hub.east" }]`, `"hub.east" is not a JetStream domain name`},
		{"domain and external", `sources = [{ name = "A", domain = "hub", external = { api = "$JS.hub.API" } }]`, `domain is shorthand for external.api`},
		{"external api wildcard", `sources = [{ name = "A", external = { api = "$JS.*.API" } }]`, `"$JS.*.API" must be a subject without wildcards`},
		{"external api own", `sources = [{ name = "A", external = { api = "$JS.API" } }]`, `is this account's own JetStream API`},
		{"external deliver", `sources = [{ name = "A", external = { api = "$JS.hub.API", deliver = "dl.>" } }]`, `"dl.>" must be a subject without wildcards`},
		{"source consumer name", `sources = [{ name = "A", consumer = { name = "c.1", deliver_subject = "d" } }]`, `consumer name "c.1" must not contain`},
		{"source consumer subject", `sources = [{ name = "A", consumer = { name = "c", deliver_subject = "d.*" } }]`, `"d.*" is not a valid subject without wildcards`},
		{"source consumer start", `sources = [{ name = "A", start_seq = 5, consumer = { name = "c", deliver_subject = "d" } }]`, `a durable source consumer keeps its own position`},
		{"source consumer filter", `sources = [{ name = "A", filter_subject = "x", consumer = { name = "c", deliver_subject = "d" } }]`, `a durable source consumer carries its own filter`},
		{"source start both", `sources = [{ name = "A", start_seq = 5, start_time = "2026-01-01T00:00:00Z" }]`, `set start_seq or start_time, not both`},
		// Transforms, republish, placement, metadata.
		{"subject transform", `subjects = ["a.*"]` + "\n" + `subject_transform = { source = "a.*", destination = "b.{{wildcard(2)}}" }`, `is not a valid transform of "a.*"`},
		{"subject transform source", `subjects = ["a.*"]` + "\n" + `subject_transform = { source = "a..*", destination = "b" }`, `"a..*" is not a valid subject`},
		{"republish source", `subjects = ["a.*"]` + "\n" + `republish = { source = "a..b", destination = "b.>" }`, `"a..b" is not a valid subject`},
		{"republish destination", `subjects = ["a.*"]` + "\n" + `republish = { destination = "b..c" }`, `"b..c" is not a valid subject`},
		{"republish cycle", `subjects = ["a.*"]` + "\n" + `republish = { destination = "a.x" }`, `republished messages would be stored again, forming a cycle`},
		{"republish transform", `subjects = ["a.*"]` + "\n" + `republish = { source = "a.*", destination = "b.{{wildcard(4)}}" }`, `cannot republish "a.*" to "b.{{wildcard(4)}}"`},
		{"placement cluster", `subjects = ["a"]` + "\n" + `placement = { cluster = "east.1" }`, `"east.1" is not a cluster name`},
		{"metadata reserved", `subjects = ["a"]` + "\n" + `metadata = { "_nats.level" = "1" }`, `key "_nats.level" is reserved: the server manages _nats.* keys`},
		{"metadata owner", `subjects = ["a"]` + "\n" + `metadata = { "pivot.owner" = "x" }`, `key "pivot.owner" is reserved: set owner instead`},
		{"metadata size", fmt.Sprintf("subjects = [\"a\"]\nmetadata = { big = %q }", strings.Repeat("m", 128*1024)), `the server allows at most 131072`},
		// The per-resource connection.
		{"connection", `subjects = ["a"]` + "\n" + `nats {` + "\n" + `servers = ["http://x"]` + "\n" + `}`, `"http://x" is not a NATS URL`},
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    natsValidationSteps("pivot_nats_stream", `name = "ORDERS"`, cases),
	})
}

func TestAccNATSConsumer_validation(t *testing.T) {
	t.Parallel()
	cases := []natsValidationCase{
		// Schema-level rules.
		{"deliver enum", `deliver_policy = "first"`, `value must be one of`},
		{"ack enum", `ack_policy = "some"`, `value must be one of`},
		{"replay enum", `replay_policy = "fast"`, `value must be one of`},
		{"priority enum", `priority_policy = "random"`, `value must be one of`},
		{"max deliver", `max_deliver = 0`, `0 is not a limit`},
		{"max ack pending", `max_ack_pending = -3`, `-3 is not a limit`},
		{"sample", `sample_freq = 101`, `value must be between 0 and 100`},
		{"replicas", `replicas = 6`, `value must be between 0 and 5`},
		{"ack wait syntax", `ack_wait = "soon"`, `"soon" is not a duration`},
		{"backoff syntax", `backoff = ["1s", "later"]`, `"later" is not a duration`},
		{"start time syntax", `deliver_policy = "by_start_time"` + "\n" + `opt_start_time = "2026-13-01"`, `is not an RFC 3339 time`},
		{"pause syntax", `pause_until = "tomorrow"`, `"tomorrow" is not an RFC 3339 time`},
		{"start seq", `deliver_policy = "by_start_sequence"` + "\n" + `opt_start_seq = 0`, `value must be at least 1`},
		{"max waiting", `max_waiting = 0`, `value must be at least 1`},
		{"max batch", `max_batch = -1`, `value must be at least 0`},
		{"max bytes", `max_bytes = -1`, `value must be at least 0`},
		{"rate limit", `deliver_subject = "d"` + "\n" + `rate_limit_bps = -1`, `value must be at least 0`},
		{"empty backoff", `backoff = []`, `list must contain at least 1 elements`},
		{"empty filter subject", `filter_subject = ""`, `string length must be at least 1`},
		{"empty deliver subject", `deliver_subject = ""`, `string length must be at least 1`},
		{"priority timeout syntax", `priority_timeout = "2 min"`, `"2 min" is not a duration`},
		// Names.
		{"durable", `durable_name = "a b"`, `consumer name "a b" must not contain`},
		{"stream", `stream = "A.B"`, `stream name "A.B" must not contain`},
		{"description", fmt.Sprintf("description = %q", strings.Repeat("d", 4097)), `is 4097 bytes long`},
		// Start position.
		{"by sequence", `deliver_policy = "by_start_sequence"`, `needs opt_start_seq`},
		{"by time", `deliver_policy = "by_start_time"`, `needs opt_start_time`},
		{"last per subject", `deliver_policy = "last_per_subject"`, `needs filter_subject or filter_subjects`},
		{"stray sequence", `opt_start_seq = 5`, `applies only with deliver_policy = "by_start_sequence"`},
		{"stray time", `opt_start_time = "2026-01-01T00:00:00Z"`, `applies only with deliver_policy = "by_start_time"`},
		// Filters.
		{"both filters", `filter_subject = "a"` + "\n" + `filter_subjects = ["b"]`, `set filter_subject or filter_subjects, not both`},
		{"empty filter", `filter_subjects = ["a", ""]`, `filter_subjects[1]: must not be empty`},
		{"filter syntax", `filter_subject = "a..b"`, `"a..b" is not a valid subject`},
		{"filter overlap", `filter_subjects = ["a.>", "a.b"]`, `"a.b" overlaps "a.>" (filter_subjects[0])`},
		// Acknowledgement and redelivery.
		{"backoff positive", `backoff = ["0s"]`, `must be a positive duration`},
		{"backoff length", `max_deliver = 2` + "\n" + `backoff = ["1s", "2s", "3s"]`, `has 3 intervals but max_deliver is 2`},
		{"backoff ack wait", `ack_wait = "1m"` + "\n" + `backoff = ["1s"]`, `the server takes ack_wait from the first backoff interval`},
		{"backoff ack none", `ack_policy = "none"` + "\n" + `backoff = ["1s"]`, `redelivery backoff needs acknowledgements`},
		{"ack fc pull", `ack_policy = "flow_control"`, `"flow_control" acknowledges through push flow control: set deliver_subject`},
		{"ack fc heartbeat", `ack_policy = "flow_control"` + "\n" + `deliver_subject = "d"`, `"flow_control" needs flow_control = true and heartbeat = "1s"`},
		{"ack fc pending", `ack_policy = "flow_control"` + "\n" + `deliver_subject = "d"` + "\n" + `flow_control = true` + "\n" + `heartbeat = "1s"` + "\n" + `max_ack_pending = -1`, `"flow_control" needs a max_ack_pending limit`},
		{"ack fc redelivery", `ack_policy = "flow_control"` + "\n" + `deliver_subject = "d"` + "\n" + `flow_control = true` + "\n" + `heartbeat = "1s"` + "\n" + `max_deliver = 3`, `"flow_control" has no ack timeout or redelivery`},
		// Push consumers.
		{"deliver wildcard", `deliver_subject = "d.*"`, `"d.*" is not a valid subject without wildcards`},
		{"deliver group", `deliver_subject = "d"` + "\n" + `deliver_group = "g.1"`, `"g.1" is not a queue group name`},
		{"push max waiting", `deliver_subject = "d"` + "\n" + `max_waiting = 10`, `max_waiting: applies only to pull consumers`},
		{"push max batch", `deliver_subject = "d"` + "\n" + `max_batch = 10`, `max_batch: applies only to pull consumers`},
		{"push max expires", `deliver_subject = "d"` + "\n" + `max_expires = "1m"`, `max_expires: applies only to pull consumers`},
		{"push max bytes", `deliver_subject = "d"` + "\n" + `max_bytes = 1024`, `max_bytes: applies only to pull consumers`},
		{"push priority policy", `deliver_subject = "d"` + "\n" + `priority_policy = "overflow"`, `priority_policy: applies only to pull consumers`},
		{"push priority groups", `deliver_subject = "d"` + "\n" + `priority_groups = ["g"]`, `priority_groups: applies only to pull consumers`},
		{"push priority timeout", `deliver_subject = "d"` + "\n" + `priority_timeout = "1m"`, `priority_timeout: applies only to pull consumers`},
		{"heartbeat floor", `deliver_subject = "d"` + "\n" + `heartbeat = "10ms"`, `is 10ms; the server needs at least 100ms`},
		{"flow control heartbeat", `deliver_subject = "d"` + "\n" + `flow_control = true`, `needs heartbeat: a stalled flow is detected through idle heartbeats`},
		{"ack none pending", `deliver_subject = "d"` + "\n" + `ack_policy = "none"` + "\n" + `max_ack_pending = 10`, `which ack_policy = "none" never has`},
		// Pull consumers.
		{"pull deliver group", `deliver_group = "g"`, `deliver_group: applies only to push consumers`},
		{"pull heartbeat", `heartbeat = "5s"`, `heartbeat: applies only to push consumers`},
		{"pull flow control", `flow_control = true`, `flow_control: applies only to push consumers`},
		{"pull rate limit", `rate_limit_bps = 1000`, `rate_limit_bps: applies only to push consumers`},
		{"max expires floor", `max_expires = "100us"`, `the server needs at least 1ms`},
		{"priority no groups", `priority_policy = "overflow"`, `needs at least one priority group`},
		{"priority group name", `priority_policy = "overflow"` + "\n" + `priority_groups = ["way-too-long-group-name"]`, `is not a group name`},
		{"priority timeout policy", `priority_policy = "overflow"` + "\n" + `priority_groups = ["g"]` + "\n" + `priority_timeout = "1m"`, `applies only with priority_policy = "pinned_client"`},
		{"priority groups no policy", `priority_groups = ["g"]`, `need a priority_policy`},
		{"priority timeout no policy", `priority_timeout = "1m"`, `applies only with priority_policy = "pinned_client"`},
		{"metadata", `metadata = { "_nats.req.level" = "0" }`, `key "_nats.req.level" is reserved`},
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    natsValidationSteps("pivot_nats_consumer", "stream = \"ORDERS\"\ndurable_name = \"worker\"", cases),
	})
}
