package provider

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/nats-io/jsm.go"
	"github.com/nats-io/jsm.go/api"

	"github.com/pivotapp/platform/internal/acctest"
)

const testStreamAddr = "pivot_nats_stream.orders"

func testAccNATSStreamConfig(name, storage, extra string) string {
	return fmt.Sprintf(`
resource "pivot_nats_stream" "orders" {
  name     = %[1]q
  storage  = %[2]q
  owner    = "orders"
  subjects = ["orders.created", "orders.shipped"]
%[3]s
}
`, name, storage, extra)
}

func TestAccNATSStream_lifecycle(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)

	created := `
  description      = "Order events"
  max_age          = "72h"
  max_msgs         = 1000
  max_msg_size     = 65536
  duplicate_window = "1m"
  compression      = "s2"
  allow_direct     = true
  metadata         = { team = "core" }
  consumer_limits  = { max_ack_pending = 500 }
  republish        = { destination = "audit.>" }
`
	updated := `
  description       = "Order events, kept longer"
  retention         = "interest"
  max_age           = "168h"
  max_msgs          = 5000
  max_msg_size      = 65536
  max_msgs_per_subject = 100
  duplicate_window  = "2m"
  compression       = "none"
  deny_delete       = true
  allow_rollup_hdrs = true
  allow_msg_ttl     = true
  subject_delete_marker_ttl = "10m"
  metadata          = { team = "core", tier = "gold" }
  consumer_limits   = { max_ack_pending = 800, inactive_threshold = "1h" }
  subject_transform = { source = "orders.created", destination = "orders.new" }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkStreamsGone(mgr, "ORDERS", "ORDERS_V2"),
		Steps: []resource.TestStep{
			// Create and Read testing
			{
				Config: natsTestConfig(n, testAccNATSStreamConfig("ORDERS", "file", created)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("id"), knownvalue.StringExact("ORDERS")),
					statecheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("max_bytes"), knownvalue.Int64Exact(-1)),
					statecheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("retention"), knownvalue.StringExact("limits")),
					statecheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("mirror_direct"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("republish").AtMapKey("source"), knownvalue.StringExact(">")),
				},
				Check: func(*terraform.State) error {
					s, err := natsMustStream(mgr, "ORDERS")
					if err != nil {
						return err
					}
					c := s.Configuration()
					want := map[string]any{
						"subjects": []string{"orders.created", "orders.shipped"}, "max_age": 72 * time.Hour, "max_msgs": int64(1000),
						"dupe": time.Minute, "compression": api.S2Compression, "direct": true, "limits": 500,
						"owner": "orders", "team": "core", "republish": "audit.>",
					}
					got := map[string]any{
						"subjects": c.Subjects, "max_age": c.MaxAge, "max_msgs": c.MaxMsgs,
						"dupe": c.Duplicates, "compression": c.Compression, "direct": c.AllowDirect, "limits": c.ConsumerLimits.MaxAckPending,
						"owner": c.Metadata["pivot.owner"], "team": c.Metadata["team"], "republish": c.RePublish.Destination,
					}
					if !reflect.DeepEqual(want, got) {
						return fmt.Errorf("server has %v, want %v", got, want)
					}
					return nil
				},
			},
			// Update in place: every change here is one the server applies
			// to a live stream.
			{
				Config: natsTestConfig(n, testAccNATSStreamConfig("ORDERS", "file", updated)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					s, err := natsMustStream(mgr, "ORDERS")
					if err != nil {
						return err
					}
					c := s.Configuration()
					if c.Retention != api.InterestPolicy || c.MaxMsgs != 5000 || !c.DenyDelete || !c.AllowMsgTTL ||
						c.SubjectDeleteMarkerTTL != 10*time.Minute || c.ConsumerLimits.InactiveThreshold != time.Hour ||
						c.SubjectTransform == nil || c.Metadata["tier"] != "gold" || c.RePublish != nil {
						return fmt.Errorf("update not applied on the server: %+v", c)
					}
					return nil
				},
			},
			// ImportState testing
			{
				ResourceName:      testStreamAddr,
				ImportState:       true,
				ImportStateId:     "ORDERS",
				ImportStateVerify: true,
			},
			// Replace: the server cannot change storage in place.
			{
				Config: natsTestConfig(n, testAccNATSStreamConfig("ORDERS", "memory", updated)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionReplace)},
				},
				Check: func(*terraform.State) error {
					s, err := natsMustStream(mgr, "ORDERS")
					if err != nil {
						return err
					}
					if s.Storage() != api.MemoryStorage {
						return fmt.Errorf("storage = %v, want memory", s.Storage())
					}
					return nil
				},
			},
			// Replace: a new name is a new stream.
			{
				Config: natsTestConfig(n, testAccNATSStreamConfig("ORDERS_V2", "memory", updated)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionReplace)},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(testStreamAddr, "id", "ORDERS_V2"),
					func(*terraform.State) error {
						if known, _ := mgr.IsKnownStream("ORDERS"); known {
							return fmt.Errorf("the old stream ORDERS should be gone")
						}
						return nil
					},
				),
			},
			// Replace: switching deny_delete off is refused by the server.
			{
				Config: natsTestConfig(n, testAccNATSStreamConfig("ORDERS_V2", "memory", `
  allow_msg_ttl = true
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionReplace)},
				},
			},
		},
	})
}

func TestAccNATSStream_drift(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	config := natsTestConfig(n, testAccNATSStreamConfig("ORDERS", "file", `
  max_msgs    = 100
  description = "managed"
  metadata    = { team = "core" }
`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkStreamsGone(mgr, "ORDERS"),
		Steps: []resource.TestStep{
			{Config: config},
			// Someone edits the stream with the nats CLI: the plan must put it back.
			{
				PreConfig: func() {
					s, err := mgr.LoadStream("ORDERS")
					if err != nil {
						t.Fatal(err)
					}
					cfg := s.Configuration()
					cfg.MaxMsgs = 7
					cfg.Description = "hand edited"
					cfg.Subjects = append(cfg.Subjects, "orders.cancelled")
					cfg.Metadata = jsm.FilterServerMetadata(cfg.Metadata)
					cfg.Metadata["team"] = "other"
					if err := s.UpdateConfiguration(cfg); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testStreamAddr, tfjsonpath.New("max_msgs"), knownvalue.Int64Exact(100)),
					},
				},
				Check: func(*terraform.State) error {
					s, err := natsMustStream(mgr, "ORDERS")
					if err != nil {
						return err
					}
					if s.MaxMsgs() != 100 || s.Description() != "managed" || len(s.Subjects()) != 2 || s.Metadata()["team"] != "core" {
						return fmt.Errorf("drift not reverted: %+v", s.Configuration())
					}
					return nil
				},
			},
			// Someone deletes the stream: the plan creates it again.
			{
				PreConfig: func() {
					if err := mgr.DeleteStream("ORDERS"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testStreamAddr, plancheck.ResourceActionCreate)},
				},
				Check: func(*terraform.State) error {
					_, err := natsMustStream(mgr, "ORDERS")
					return err
				},
			},
		},
	})
}

func TestAccNATSStream_mirrorAndSources(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	origin := `
resource "pivot_nats_stream" "origin" {
  name         = "ORIGIN"
  subjects     = ["origin.>"]
  allow_direct = true
}

resource "pivot_nats_stream" "other" {
  name     = "OTHER"
  subjects = ["other.*"]
}
`
	mirror := `
resource "pivot_nats_stream" "copy" {
  name   = "COPY"
  mirror = { name = pivot_nats_stream.origin.name, filter_subject = "origin.a.>" }
}
`
	promoted := `
resource "pivot_nats_stream" "copy" {
  name     = "COPY"
  subjects = ["copy.>"]
}
`
	aggregate := func(sources string, firstSeq int) string {
		return fmt.Sprintf(`
resource "pivot_nats_stream" "all" {
  name      = "ALL"
  first_seq = %d
  sources   = [%s]
}
`, firstSeq, sources)
	}
	twoSources := `
    { name = pivot_nats_stream.origin.name, filter_subject = "origin.>" },
    { name = pivot_nats_stream.other.name, subject_transforms = [{ source = "other.*", destination = "all.{{wildcard(1)}}" }] },`
	threeSources := twoSources + `
    { name = "REMOTE", domain = "hub", start_time = "2026-01-01T00:00:00Z" },`

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkStreamsGone(mgr, "ORIGIN", "OTHER", "COPY", "ALL"),
		Steps: []resource.TestStep{
			{
				Config: natsTestConfig(n, origin+mirror+aggregate(twoSources, 100)),
				ConfigStateChecks: []statecheck.StateCheck{
					// The server copies the origin's allow_direct to the mirror.
					statecheck.ExpectKnownValue("pivot_nats_stream.copy", tfjsonpath.New("mirror_direct"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("pivot_nats_stream.copy", tfjsonpath.New("duplicate_window"), knownvalue.StringExact("0s")),
					statecheck.ExpectKnownValue("pivot_nats_stream.all", tfjsonpath.New("first_seq"), knownvalue.Int64Exact(100)),
				},
				Check: func(*terraform.State) error {
					c, err := natsMustStream(mgr, "COPY")
					if err != nil {
						return err
					}
					if c.Mirror() == nil || c.Mirror().Name != "ORIGIN" {
						return fmt.Errorf("COPY is not a mirror of ORIGIN: %+v", c.Configuration())
					}
					a, err := natsMustStream(mgr, "ALL")
					if err != nil {
						return err
					}
					if len(a.Sources()) != 2 || a.Sources()[1].SubjectTransforms[0].Destination != "all.{{wildcard(1)}}" {
						return fmt.Errorf("ALL sources = %+v", a.Sources())
					}
					return nil
				},
			},
			{
				ResourceName:      "pivot_nats_stream.all",
				ImportState:       true,
				ImportStateId:     "ALL",
				ImportStateVerify: true,
			},
			// Promoting the mirror and adding a source are in-place changes.
			{
				Config: natsTestConfig(n, origin+promoted+aggregate(threeSources, 100)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("pivot_nats_stream.copy", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("pivot_nats_stream.all", plancheck.ResourceActionUpdate),
					},
				},
				Check: func(*terraform.State) error {
					c, err := natsMustStream(mgr, "COPY")
					if err != nil {
						return err
					}
					if c.Mirror() != nil || c.Subjects()[0] != "copy.>" {
						return fmt.Errorf("COPY not promoted: %+v", c.Configuration())
					}
					a, err := natsMustStream(mgr, "ALL")
					if err != nil {
						return err
					}
					if len(a.Sources()) != 3 || a.Sources()[2].External == nil || a.Sources()[2].External.ApiPrefix != "$JS.hub.API" {
						return fmt.Errorf("ALL sources = %+v", a.Sources())
					}
					return nil
				},
			},
			// Making a plain stream a mirror, or moving first_seq, replaces it.
			{
				Config: natsTestConfig(n, origin+mirror+aggregate(threeSources, 200)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("pivot_nats_stream.copy", plancheck.ResourceActionReplace),
						plancheck.ExpectResourceAction("pivot_nats_stream.all", plancheck.ResourceActionReplace),
					},
				},
			},
		},
	})
}

func TestAccNATSStream_newerFeatures(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	config := func(counter, atomic bool) string {
		return natsTestConfig(n, fmt.Sprintf(`
resource "pivot_nats_stream" "counter" {
  name              = "COUNTS"
  subjects          = ["counts.>"]
  allow_msg_counter = %[1]t
  allow_atomic      = %[2]t
}

resource "pivot_nats_stream" "scheduled" {
  name                = "SCHEDULED"
  subjects            = ["jobs.>"]
  allow_msg_schedules = true
  allow_rollup_hdrs   = true
}

resource "pivot_nats_stream" "fast" {
  name          = "FAST"
  subjects      = ["fast.>"]
  persist_mode  = "async"
  allow_batched = true
}
`, counter, atomic))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkStreamsGone(mgr, "COUNTS", "SCHEDULED", "FAST"),
		Steps: []resource.TestStep{
			{
				Config: config(true, false),
				Check: func(*terraform.State) error {
					c, err := natsMustStream(mgr, "COUNTS")
					if err != nil {
						return err
					}
					f, err := natsMustStream(mgr, "FAST")
					if err != nil {
						return err
					}
					if !c.CounterAllowed() || f.PersistenceMode() != api.AsyncPersistMode || !f.Configuration().AllowBatchPublish {
						return fmt.Errorf("features not set: %+v %+v", c.Configuration(), f.Configuration())
					}
					return nil
				},
			},
			// allow_atomic is updatable in place (the reference provider replaces).
			{
				Config: config(true, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("pivot_nats_stream.counter", plancheck.ResourceActionUpdate)},
				},
			},
			// The server cannot turn a counter stream back into a plain one.
			{
				Config: config(false, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("pivot_nats_stream.counter", plancheck.ResourceActionReplace)},
				},
			},
		},
	})
}
