package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestJSFieldPath(t *testing.T) {
	t.Parallel()
	cases := map[string]path.Path{
		"name":        path.Root("name"),
		"subjects[2]": path.Root("subjects").AtListIndex(2),
		"sources[1].subject_transforms[0].source": path.Root("sources").AtListIndex(1).AtName("subject_transforms").AtListIndex(0).AtName("source"),
		"consumer_limits.max_ack_pending":         path.Root("consumer_limits").AtName("max_ack_pending"),
	}
	for field, want := range cases {
		if got := jsFieldPath(field); !got.Equal(want) {
			t.Errorf("jsFieldPath(%q) = %s, want %s", field, got, want)
		}
	}
}

func TestJSDurationSpelling(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{0: "0s", 72 * time.Hour: "72h", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s", 2 * time.Minute: "2m"} {
		if got := jsFormatDuration(d); got != want {
			t.Errorf("jsFormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
	// A read keeps the configuration's spelling of the same duration.
	if got := jsDurationValue(types.StringValue("60m"), time.Hour, false); got.ValueString() != "60m" {
		t.Errorf("kept spelling: got %s", got)
	}
	if got := jsDurationValue(types.StringValue("60m"), 2*time.Hour, false); got.ValueString() != "2h" {
		t.Errorf("changed value: got %s", got)
	}
}

func TestPredictDuplicateWindow(t *testing.T) {
	t.Parallel()
	objNull := types.ObjectNull(jsSourceAttrTypes)
	listNull := types.ListNull(types.ObjectType{AttrTypes: jsSourceAttrTypes})
	plan := natsStreamModel{MaxAge: types.StringValue("30s"), Mirror: objNull, Sources: listNull}
	if got := predictDuplicateWindow(plan, nil); got.ValueString() != "30s" {
		t.Errorf("short max_age: got %s, want the max_age", got)
	}
	plan.MaxAge = types.StringValue("72h")
	if got := predictDuplicateWindow(plan, nil); got.ValueString() != "2m" {
		t.Errorf("long max_age: got %s, want 2m", got)
	}
	plan.MaxAge = types.StringUnknown()
	if got := predictDuplicateWindow(plan, nil); !got.IsUnknown() {
		t.Errorf("unknown max_age: got %s, want unknown", got)
	}
	state := natsStreamModel{MaxAge: types.StringValue("72h"), DuplicateWindow: types.StringValue("5m"), Mirror: objNull, Sources: listNull}
	plan.MaxAge = types.StringValue("72h")
	if got := predictDuplicateWindow(plan, &state); got.ValueString() != "5m" {
		t.Errorf("unchanged inputs keep the server's window: got %s", got)
	}
}
