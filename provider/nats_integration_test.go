package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/nats-io/jsm.go"
	"github.com/nats-io/jsm.go/api"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack"
)

// TestAccNATS_externalClient checks what Terraform made through the client
// services use (nats.go's jetstream package): the stream and consumer carry
// exactly the configured settings, and messages flow through them.
func TestAccNATS_externalClient(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	nc, mgr := natsInspect(t, n.URL)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	config := natsTestConfig(n, `
resource "pivot_nats_stream" "orders" {
  name                 = "ORDERS"
  owner                = "orders"
  description          = "Order events"
  subjects             = ["orders.created", "orders.paid"]
  retention            = "limits"
  max_age              = "24h"
  max_msgs             = 10000
  max_bytes            = 10485760
  max_msgs_per_subject = 5000
  max_msg_size         = 1024
  duplicate_window     = "30s"
  allow_direct         = true
  allow_rollup_hdrs    = true
  metadata             = { team = "core" }
}

resource "pivot_nats_consumer" "worker" {
  stream          = pivot_nats_stream.orders.name
  durable_name    = "worker"
  description     = "Ships paid orders"
  filter_subjects = ["orders.paid"]
  ack_wait        = "45s"
  max_deliver     = 4
  max_ack_pending = 100
  max_batch       = 10
  max_expires     = "5s"
  metadata        = { owner = "shipping" }
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkStreamsGone(mgr, "ORDERS"),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(*terraform.State) error {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				s, err := js.Stream(ctx, "ORDERS")
				if err != nil {
					return err
				}
				si, err := s.Info(ctx)
				if err != nil {
					return err
				}
				sc := si.Config
				wantStream := jetstream.StreamConfig{
					Name: "ORDERS", Description: "Order events", Subjects: []string{"orders.created", "orders.paid"},
					Retention: jetstream.LimitsPolicy, MaxAge: 24 * time.Hour, MaxMsgs: 10000, MaxBytes: 10485760,
					MaxMsgsPerSubject: 5000, MaxMsgSize: 1024, Duplicates: 30 * time.Second, AllowDirect: true,
					AllowRollup: true, Storage: jetstream.FileStorage, Discard: jetstream.DiscardOld, Replicas: 1, MaxConsumers: -1,
				}
				gotStream := jetstream.StreamConfig{
					Name: sc.Name, Description: sc.Description, Subjects: sc.Subjects, Retention: sc.Retention, MaxAge: sc.MaxAge,
					MaxMsgs: sc.MaxMsgs, MaxBytes: sc.MaxBytes, MaxMsgsPerSubject: sc.MaxMsgsPerSubject, MaxMsgSize: sc.MaxMsgSize,
					Duplicates: sc.Duplicates, AllowDirect: sc.AllowDirect, AllowRollup: sc.AllowRollup, Storage: sc.Storage,
					Discard: sc.Discard, Replicas: sc.Replicas, MaxConsumers: sc.MaxConsumers,
				}
				if fmt.Sprintf("%+v", wantStream) != fmt.Sprintf("%+v", gotStream) {
					return fmt.Errorf("stream config:\n got %+v\nwant %+v", gotStream, wantStream)
				}
				if sc.Metadata["team"] != "core" || sc.Metadata["pivot.owner"] != "orders" {
					return fmt.Errorf("stream metadata = %v", sc.Metadata)
				}

				c, err := js.Consumer(ctx, "ORDERS", "worker")
				if err != nil {
					return err
				}
				ci, err := c.Info(ctx)
				if err != nil {
					return err
				}
				cc := ci.Config
				if cc.Durable != "worker" || cc.Description != "Ships paid orders" || !slices.Equal(cc.FilterSubjects, []string{"orders.paid"}) ||
					cc.AckPolicy != jetstream.AckExplicitPolicy || cc.AckWait != 45*time.Second || cc.MaxDeliver != 4 ||
					cc.MaxAckPending != 100 || cc.MaxRequestBatch != 10 || cc.MaxRequestExpires != 5*time.Second ||
					cc.DeliverPolicy != jetstream.DeliverAllPolicy || cc.Metadata["owner"] != "shipping" {
					return fmt.Errorf("consumer config = %+v", cc)
				}

				for _, subj := range []string{"orders.created", "orders.paid", "orders.paid"} {
					if _, err := js.Publish(ctx, subj, []byte(subj)); err != nil {
						return fmt.Errorf("publish %s: %w", subj, err)
					}
				}
				batch, err := c.Fetch(5, jetstream.FetchMaxWait(2*time.Second))
				if err != nil {
					return err
				}
				got := 0
				for msg := range batch.Messages() {
					if msg.Subject() != "orders.paid" {
						return fmt.Errorf("consumer delivered %s, outside its filter", msg.Subject())
					}
					if err := msg.Ack(); err != nil {
						return err
					}
					got++
				}
				if got != 2 {
					return fmt.Errorf("consumed %d messages, want 2", got)
				}
				return nil
			},
		}},
	})
}

// TestAccNATS_perResourceConnection manages two accounts of one server from
// one configuration: the provider's nats block reaches account A, a
// resource's own nats block reaches account B.
func TestAccNATS_perResourceConnection(t *testing.T) {
	t.Parallel()
	n := startTwoAccountNATS(t)
	_, mgrA := natsInspect(t, n.URL, nats.UserInfo("a", "a"))
	_, mgrB := natsInspect(t, n.URL, nats.UserInfo("b", "b"))

	config := fmt.Sprintf(`
provider "pivot" {
  nats {
    servers  = [%[1]q]
    user     = "a"
    password = "a"
  }
}

resource "pivot_nats_stream" "a" {
  name     = "ORDERS"
  subjects = ["a.orders.>"]
}

resource "pivot_nats_stream" "b" {
  name     = "ORDERS"
  subjects = ["b.orders.>"]
  nats {
    servers  = [%[1]q]
    user     = "b"
    password = "b"
  }
}

resource "pivot_nats_consumer" "b" {
  stream       = pivot_nats_stream.b.name
  durable_name = "only-in-b"
  nats {
    servers  = [%[1]q]
    user     = "b"
    password = "b"
  }
}

data "pivot_nats_stream" "b" {
  name = pivot_nats_stream.b.name
  nats {
    servers  = [%[1]q]
    user     = "b"
    password = "b"
  }
}
`, n.URL)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkStreamsGone(mgrA, "ORDERS"),
			checkStreamsGone(mgrB, "ORDERS"),
		),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.pivot_nats_stream.b", tfjsonpath.New("subjects"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("b.orders.>")})),
				},
				Check: func(*terraform.State) error {
					a, err := natsMustStream(mgrA, "ORDERS")
					if err != nil {
						return err
					}
					b, err := natsMustStream(mgrB, "ORDERS")
					if err != nil {
						return err
					}
					if a.Subjects()[0] != "a.orders.>" || b.Subjects()[0] != "b.orders.>" {
						return fmt.Errorf("accounts mixed up: A has %v, B has %v", a.Subjects(), b.Subjects())
					}
					if known, _ := mgrB.IsKnownConsumer("ORDERS", "only-in-b"); !known {
						return fmt.Errorf("consumer missing in account B")
					}
					if known, _ := mgrA.IsKnownConsumer("ORDERS", "only-in-b"); known {
						return fmt.Errorf("consumer leaked into account A")
					}
					return nil
				},
			},
			// Import reads through the provider's nats block: account A's
			// ORDERS, not B's. (ImportStateVerify cannot be used: both
			// streams have the ID ORDERS, so it may compare with either.)
			{
				ResourceName:  "pivot_nats_stream.a",
				ImportState:   true,
				ImportStateId: "ORDERS",
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["subjects.0"] != "a.orders.>" {
						return fmt.Errorf("imported %v, want account A's ORDERS", states)
					}
					return nil
				},
			},
		},
	})
}

// startTwoAccountNATS starts a server with JetStream accounts A and B
// (users a/a and b/b).
func startTwoAccountNATS(t *testing.T) *localstack.NATS {
	t.Helper()
	n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: t.TempDir(), Accounts: []localstack.NATSAccount{
		{Name: "A", User: "a", Password: "a"}, {Name: "B", User: "b", Password: "b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// TestAccNATSDataSources reads a stream and consumer made outside Terraform.
func TestAccNATSDataSources(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	if _, err := mgr.NewStream("EVENTS", jsm.Subjects("events.>"), jsm.MaxAge(time.Hour), jsm.FileStorage(),
		jsm.StreamDescription("made by hand"), jsm.StreamMetadata(map[string]string{"team": "data"})); err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.NewConsumer("EVENTS", jsm.DurableName("reader"), jsm.DeliverySubject("push.reader"),
		jsm.AcknowledgeNone(), jsm.StartWithLastReceived(), jsm.FilterStreamBySubject("events.a")); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: natsTestConfig(n, `
data "pivot_nats_stream" "events" {
  name = "EVENTS"
}

data "pivot_nats_consumer" "reader" {
  stream       = data.pivot_nats_stream.events.name
  durable_name = "reader"
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.pivot_nats_stream.events", tfjsonpath.New("max_age"), knownvalue.StringExact("1h")),
					statecheck.ExpectKnownValue("data.pivot_nats_stream.events", tfjsonpath.New("description"), knownvalue.StringExact("made by hand")),
					statecheck.ExpectKnownValue("data.pivot_nats_stream.events", tfjsonpath.New("metadata"), knownvalue.MapExact(map[string]knownvalue.Check{"team": knownvalue.StringExact("data")})),
					statecheck.ExpectKnownValue("data.pivot_nats_stream.events", tfjsonpath.New("duplicate_window"), knownvalue.StringExact("2m")),
					statecheck.ExpectKnownValue("data.pivot_nats_consumer.reader", tfjsonpath.New("deliver_subject"), knownvalue.StringExact("push.reader")),
					statecheck.ExpectKnownValue("data.pivot_nats_consumer.reader", tfjsonpath.New("ack_policy"), knownvalue.StringExact("none")),
					statecheck.ExpectKnownValue("data.pivot_nats_consumer.reader", tfjsonpath.New("deliver_policy"), knownvalue.StringExact("last")),
					statecheck.ExpectKnownValue("data.pivot_nats_consumer.reader", tfjsonpath.New("filter_subject"), knownvalue.StringExact("events.a")),
					statecheck.ExpectKnownValue("data.pivot_nats_consumer.reader", tfjsonpath.New("id"), knownvalue.StringExact("EVENTS/reader")),
				},
			},
			{
				Config: natsTestConfig(n, `
data "pivot_nats_stream" "missing" {
  name = "NOPE"
}
`),
				ExpectError: natsMsgRe(`No stream named "NOPE" exists`),
			},
			{
				Config: natsTestConfig(n, `
data "pivot_nats_consumer" "missing" {
  stream       = "EVENTS"
  durable_name = "nope"
}
`),
				ExpectError: natsMsgRe(`Stream "EVENTS" has no consumer named "nope"`),
			},
		},
	})
}

// startOldJetStream serves $JS.API.INFO like a server of the given API
// level, so plans can be checked against an older nats-server than the one
// embedded here.
func startOldJetStream(t *testing.T, level int) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(srv.Shutdown)
	url := "nats://" + srv.Addr().String()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	resp, _ := json.Marshal(api.JSApiAccountInfoResponse{
		JSApiResponse:         api.JSApiResponse{Type: "io.nats.jetstream.api.v1.account_info_response"},
		JetStreamAccountStats: &api.JetStreamAccountStats{API: api.JetStreamAPIStats{Level: level}},
	})
	if _, err := nc.Subscribe("$JS.API.INFO", func(m *nats.Msg) { _ = m.Respond(resp) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return url
}

func TestAccNATS_apiLevelAtPlan(t *testing.T) {
	t.Parallel()
	url := startOldJetStream(t, 1)
	provider := fmt.Sprintf("provider \"pivot\" {\n  nats {\n    servers = [%q]\n  }\n}\n", url)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: provider + `
resource "pivot_nats_stream" "counter" {
  name              = "COUNTS"
  subjects          = ["counts.>"]
  allow_msg_counter = true
}
`,
				PlanOnly:    true,
				ExpectError: natsMsgRe(`allow_msg_counter: needs nats-server 2.12 or later (JetStream API level 2), but the server runs nats-server 2.15.2 (JetStream API level 1)`),
			},
			{
				Config: provider + `
resource "pivot_nats_stream" "batched" {
  name          = "BATCH"
  subjects      = ["batch.>"]
  allow_batched = true
}
`,
				PlanOnly:    true,
				ExpectError: natsMsgRe(`allow_batched: needs nats-server 2.14 or later`),
			},
			{
				Config: provider + `
resource "pivot_nats_consumer" "grouped" {
  stream          = "ORDERS"
  durable_name    = "grouped"
  priority_policy = "prioritized"
  priority_groups = ["jobs"]
}
`,
				PlanOnly:    true,
				ExpectError: natsMsgRe(`priority_policy: needs nats-server 2.12 or later`),
			},
			// Level 1 (nats-server 2.11) has TTLs and consumer pauses: the
			// plan goes through.
			{
				Config: provider + `
resource "pivot_nats_stream" "ttl" {
  name          = "TTL"
  subjects      = ["ttl.>"]
  allow_msg_ttl = true
}

resource "pivot_nats_consumer" "paused" {
  stream       = "TTL"
  durable_name = "paused"
  pause_until  = "2030-01-01T00:00:00Z"
}
`,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}
