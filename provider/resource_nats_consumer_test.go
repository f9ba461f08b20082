package provider

import (
	"fmt"
	"regexp"
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

const testConsumerAddr = "pivot_nats_consumer.worker"

func testAccNATSConsumerConfig(body string) string {
	return fmt.Sprintf(`
resource "pivot_nats_stream" "orders" {
  name     = "ORDERS"
  subjects = ["orders.>"]
}

resource "pivot_nats_consumer" "worker" {
  stream       = pivot_nats_stream.orders.name
  durable_name = "worker"
%s
}
`, body)
}

// checkConsumersGone is a CheckDestroy that asks the server.
func checkConsumersGone(mgr *jsm.Manager, stream string, names ...string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for _, n := range names {
			known, err := mgr.IsKnownConsumer(stream, n)
			if err != nil && !jsm.IsNatsError(err, 10059) {
				return fmt.Errorf("look up consumer %s: %w", n, err)
			}
			if known {
				return fmt.Errorf("consumer %s/%s still exists after destroy", stream, n)
			}
		}
		return nil
	}
}

func natsMustConsumer(mgr *jsm.Manager, stream, name string) (api.ConsumerConfig, error) {
	c, err := mgr.LoadConsumer(stream, name)
	if err != nil {
		return api.ConsumerConfig{}, fmt.Errorf("load consumer %s/%s: %w", stream, name, err)
	}
	return c.Configuration(), nil
}

func TestAccNATSConsumer_lifecycle(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	pause := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkConsumersGone(mgr, "ORDERS", "worker"),
			checkStreamsGone(mgr, "ORDERS"),
		),
		Steps: []resource.TestStep{
			// Create and Read testing: a pull consumer with server defaults.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(`
  filter_subject = "orders.created"
  max_deliver    = 5
  backoff        = ["1s", "5s", "30s"]
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						// Defaults are predicted at plan time, not left unknown.
						plancheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("ack_wait"), knownvalue.StringExact("1s")),
						plancheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("max_waiting"), knownvalue.Int64Exact(512)),
						plancheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("id"), knownvalue.StringExact("ORDERS/worker")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("max_ack_pending"), knownvalue.Int64Exact(1000)),
					statecheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("deliver_policy"), knownvalue.StringExact("all")),
				},
				Check: func(*terraform.State) error {
					c, err := natsMustConsumer(mgr, "ORDERS", "worker")
					if err != nil {
						return err
					}
					if c.FilterSubject != "orders.created" || c.MaxDeliver != 5 || len(c.BackOff) != 3 || c.BackOff[2] != 30*time.Second {
						return fmt.Errorf("server has %+v", c)
					}
					return nil
				},
			},
			// Update in place, including pausing.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(fmt.Sprintf(`
  description     = "ships orders"
  filter_subjects = ["orders.created", "orders.paid"]
  max_deliver     = 10
  backoff         = ["1s", "10s"]
  max_ack_pending = 50
  max_batch       = 100
  max_expires     = "30s"
  headers_only    = true
  metadata        = { owner = "shipping" }
  pause_until     = %q
`, pause))),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					cons, err := mgr.LoadConsumer("ORDERS", "worker")
					if err != nil {
						return err
					}
					c := cons.Configuration()
					st, err := cons.LatestState()
					if err != nil {
						return err
					}
					if c.Description != "ships orders" || len(c.FilterSubjects) != 2 || c.MaxAckPending != 50 || c.MaxRequestBatch != 100 || !st.Paused {
						return fmt.Errorf("update not applied: %+v paused=%v", c, st.Paused)
					}
					return nil
				},
			},
			// ImportState testing
			{
				ResourceName:      testConsumerAddr,
				ImportState:       true,
				ImportStateId:     "ORDERS/worker",
				ImportStateVerify: true,
			},
			// Resume (pause_until removed) is an update too.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(`
  filter_subjects = ["orders.created", "orders.paid"]
  max_ack_pending = 50
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					cons, err := mgr.LoadConsumer("ORDERS", "worker")
					if err != nil {
						return err
					}
					st, err := cons.LatestState()
					if err != nil || st.Paused {
						return fmt.Errorf("consumer should run again: paused=%v err=%w", st.Paused, err)
					}
					return nil
				},
			},
			// Replace: the server cannot change the deliver policy.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(`
  filter_subjects = ["orders.created", "orders.paid"]
  max_ack_pending = 50
  deliver_policy  = "new"
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionReplace)},
				},
				Check: func(*terraform.State) error {
					c, err := natsMustConsumer(mgr, "ORDERS", "worker")
					if err != nil {
						return err
					}
					if c.DeliverPolicy != api.DeliverNew {
						return fmt.Errorf("deliver policy = %v", c.DeliverPolicy)
					}
					return nil
				},
			},
			// Replace: pull to push.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(`
  deliver_policy  = "new"
  deliver_subject = "deliver.worker"
  deliver_group   = "workers"
  heartbeat       = "5s"
  flow_control    = true
  rate_limit_bps  = 1000000
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionReplace),
						plancheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("max_waiting"), knownvalue.Int64Exact(0)),
					},
				},
			},
			// A push consumer's deliver subject changes in place.
			{
				Config: natsTestConfig(n, testAccNATSConsumerConfig(`
  deliver_policy  = "new"
  deliver_subject = "deliver.worker2"
  deliver_group   = "workers"
  heartbeat       = "5s"
  flow_control    = true
  rate_limit_bps  = 2000000
`)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					c, err := natsMustConsumer(mgr, "ORDERS", "worker")
					if err != nil {
						return err
					}
					if c.DeliverSubject != "deliver.worker2" || c.RateLimit != 2000000 {
						return fmt.Errorf("server has %+v", c)
					}
					return nil
				},
			},
		},
	})
}

func TestAccNATSConsumer_driftAndDelete(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	config := natsTestConfig(n, testAccNATSConsumerConfig(`
  description     = "managed"
  max_ack_pending = 20
`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkConsumersGone(mgr, "ORDERS", "worker"),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					cons, err := mgr.LoadConsumer("ORDERS", "worker")
					if err != nil {
						t.Fatal(err)
					}
					if err := cons.UpdateConfiguration(jsm.ConsumerDescription("hand edited"), jsm.MaxAckPending(99)); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testConsumerAddr, tfjsonpath.New("max_ack_pending"), knownvalue.Int64Exact(20)),
					},
				},
				Check: func(*terraform.State) error {
					c, err := natsMustConsumer(mgr, "ORDERS", "worker")
					if err != nil {
						return err
					}
					if c.Description != "managed" || c.MaxAckPending != 20 {
						return fmt.Errorf("drift not reverted: %+v", c)
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					if err := mgr.DeleteConsumer("ORDERS", "worker"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testConsumerAddr, plancheck.ResourceActionCreate)},
				},
			},
			{
				ResourceName:  testConsumerAddr,
				ImportState:   true,
				ImportStateId: "ORDERS.worker",
				ExpectError:   regexp.MustCompile(`expected <stream>/<durable_name>`),
			},
			{
				ResourceName:  testStreamAddr,
				ImportState:   true,
				ImportStateId: "ORDERS/worker",
				ExpectError:   regexp.MustCompile(`Expected the stream name`),
			},
		},
	})
}

// TestAccNATS_createConflicts: Terraform never adopts a stream or consumer
// it did not create; it says how to import it instead.
func TestAccNATS_createConflicts(t *testing.T) {
	t.Parallel()
	n := acctest.NATS(t)
	_, mgr := natsInspect(t, n.URL)
	if _, err := mgr.NewStream("TAKEN", jsm.Subjects("taken.>"), jsm.FileStorage()); err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.NewConsumer("TAKEN", jsm.DurableName("busy")); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: natsTestConfig(n, `
resource "pivot_nats_stream" "taken" {
  name     = "TAKEN"
  subjects = ["other.>"]
}
`),
				ExpectError: natsMsgRe(`A stream named "TAKEN" already exists on the server. Import it`),
			},
			{
				Config: natsTestConfig(n, `
resource "pivot_nats_consumer" "busy" {
  stream       = "TAKEN"
  durable_name = "busy"
}
`),
				ExpectError: natsMsgRe(`Stream "TAKEN" already has a consumer named "busy". Import it with`),
			},
			{
				Config: natsTestConfig(n, `
resource "pivot_nats_consumer" "orphan" {
  stream       = "MISSING"
  durable_name = "orphan"
}
`),
				ExpectError: natsMsgRe(`Stream "MISSING" does not exist`),
			},
		},
	})
}
