package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pivotapp/platform/internal/iampolicy"
)

// ECR lifecycle policies, as the ECR user guide ("Lifecycle policy
// properties", "How lifecycle policies work") describes them:
//
//   - rules are evaluated by rulePriority, lowest first; a rule with
//     tagStatus "any" must have the highest priority;
//   - an image is expired by at most one rule, and an image that matches the
//     tag requirements of a rule cannot be expired by a lower-priority rule;
//   - several entries in one tagPatternList (or tagPrefixList) select only
//     images that match all of them, so keeping several tags takes one rule
//     per tag;
//   - a pattern holds at most four wildcards.
//
// The policy written here keeps each tag a release names with a rule of its
// own (selected, never expired), then expires untagged images after some
// days and everything beyond the newest keepLast images.

// Limits of ECR lifecycle policies this package keeps within.
const (
	// MaxLifecycleRules is ECR's quota of rules per lifecycle policy.
	MaxLifecycleRules = 50
	// keepCount is the count a keep rule allows: an exact tag names at most
	// one image, so "more than 1" never expires it.
	keepCount = 1
)

// LifecycleRule is one rule of a lifecycle policy.
type LifecycleRule struct {
	RulePriority int               `json:"rulePriority"`
	Description  string            `json:"description,omitempty"`
	Selection    LifecycleSelector `json:"selection"`
	Action       struct {
		Type string `json:"type"`
	} `json:"action"`
}

// LifecycleSelector is a rule's selection.
type LifecycleSelector struct {
	TagStatus      string   `json:"tagStatus"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	TagPrefixList  []string `json:"tagPrefixList,omitempty"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit,omitempty"`
	CountNumber    int      `json:"countNumber"`
}

// LifecyclePolicy is the policy document.
type LifecyclePolicy struct {
	Rules []LifecycleRule `json:"rules"`
}

// NewLifecyclePolicy returns the policy that keeps every tag in keep,
// expires untagged images untaggedDays after their push and, of the rest,
// all but the newest keepLast.
func NewLifecyclePolicy(keep []string, keepLast, untaggedDays int) (LifecyclePolicy, error) {
	tags := sortedSet(slices.DeleteFunc(slices.Clone(keep), func(s string) bool { return s == "" }))
	if len(tags)+2 > MaxLifecycleRules {
		return LifecyclePolicy{}, fmt.Errorf("%d release tags to keep: a lifecycle policy holds at most %d rules (one per kept tag, two more)", len(tags), MaxLifecycleRules)
	}
	if keepLast < 1 {
		return LifecyclePolicy{}, fmt.Errorf("keep_last is %d; keep at least 1 image", keepLast)
	}
	if untaggedDays < 1 {
		return LifecyclePolicy{}, fmt.Errorf("untagged_days is %d; it must be at least 1", untaggedDays)
	}
	var p LifecyclePolicy
	add := func(desc string, sel LifecycleSelector) {
		r := LifecycleRule{RulePriority: len(p.Rules) + 1, Description: desc, Selection: sel}
		r.Action.Type = "expire"
		p.Rules = append(p.Rules, r)
	}
	for _, t := range tags {
		if strings.Contains(t, "*") {
			return LifecyclePolicy{}, fmt.Errorf("tag %q: a kept tag is exact, without wildcards", t)
		}
		add("keep "+t+" (named by a release)", LifecycleSelector{TagStatus: "tagged", TagPatternList: []string{t}, CountType: "imageCountMoreThan", CountNumber: keepCount})
	}
	add(fmt.Sprintf("expire untagged images after %d days", untaggedDays),
		LifecycleSelector{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: untaggedDays})
	add(fmt.Sprintf("keep the newest %d images", keepLast),
		LifecycleSelector{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: keepLast})
	return p, nil
}

// JSON renders the policy as ECR takes it.
func (p LifecyclePolicy) JSON() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// ParseLifecyclePolicy reads a policy document.
func ParseLifecyclePolicy(text string) (LifecyclePolicy, error) {
	var p LifecyclePolicy
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return p, fmt.Errorf("parse lifecycle policy: %w", err)
	}
	return p, nil
}

// KeptTags returns the tags the policy's keep rules name.
func (p LifecyclePolicy) KeptTags() []string {
	var out []string
	for _, r := range p.Rules {
		s := r.Selection
		if s.TagStatus == "tagged" && s.CountType == "imageCountMoreThan" && s.CountNumber == keepCount && len(s.TagPatternList) == 1 {
			out = append(out, s.TagPatternList[0])
		}
	}
	return sortedSet(out)
}

// Image is an image in a repository, for Expired.
type Image struct {
	Digest   string
	Tags     []string
	PushedAt time.Time
}

// Expired returns the digests the policy would expire at now, evaluated as
// ECR documents it (see the top of this file).
func (p LifecyclePolicy) Expired(images []Image, now time.Time) []string {
	rules := slices.Clone(p.Rules)
	sort.Slice(rules, func(i, j int) bool { return rules[i].RulePriority < rules[j].RulePriority })
	byAge := slices.Clone(images)
	sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].PushedAt.After(byAge[j].PushedAt) }) // newest first
	claimed := map[string]bool{}
	expired := map[string]bool{}
	for _, r := range rules {
		var selected []Image
		for _, img := range byAge {
			if r.Selection.selects(img) {
				selected = append(selected, img)
			}
		}
		var candidates []Image
		switch r.Selection.CountType {
		case "imageCountMoreThan":
			if len(selected) > r.Selection.CountNumber {
				candidates = selected[r.Selection.CountNumber:]
			}
		case "sinceImagePushed":
			limit := now.Add(-time.Duration(r.Selection.CountNumber) * 24 * time.Hour)
			for _, img := range selected {
				if img.PushedAt.Before(limit) {
					candidates = append(candidates, img)
				}
			}
		}
		for _, img := range candidates {
			if !claimed[img.Digest] && r.Action.Type == "expire" {
				expired[img.Digest] = true
			}
		}
		// Whatever this rule selected is out of reach of every rule after it.
		for _, img := range selected {
			claimed[img.Digest] = true
		}
	}
	var out []string
	for _, img := range byAge {
		if expired[img.Digest] {
			out = append(out, img.Digest)
		}
	}
	return out
}

func (s LifecycleSelector) selects(img Image) bool {
	switch s.TagStatus {
	case "untagged":
		return len(img.Tags) == 0
	case "any":
		return true
	case "tagged":
		if len(img.Tags) == 0 {
			return false
		}
		// Every entry must match one of the image's tags.
		for _, pat := range s.TagPatternList {
			if !slices.ContainsFunc(img.Tags, func(t string) bool { return iampolicy.Wildcard(pat, t) }) {
				return false
			}
		}
		for _, pre := range s.TagPrefixList {
			if !slices.ContainsFunc(img.Tags, func(t string) bool { return strings.HasPrefix(t, pre) }) {
				return false
			}
		}
		return len(s.TagPatternList)+len(s.TagPrefixList) > 0
	}
	return false
}

// ReleaseTags returns the tags the given release records name for a
// service: what its repository must keep.
func ReleaseTags(service string, records ...map[string]string) []string {
	var out []string
	for _, images := range records {
		if t := images[service]; t != "" {
			out = append(out, t)
		}
	}
	return sortedSet(out)
}

// Settings recovers what NewLifecyclePolicy was given (zero values for a
// policy it did not write).
func (p LifecyclePolicy) Settings() (keep []string, keepLast, untaggedDays int) {
	for _, r := range p.Rules {
		s := r.Selection
		switch {
		case s.TagStatus == "any" && s.CountType == "imageCountMoreThan":
			keepLast = s.CountNumber
		case s.TagStatus == "untagged" && s.CountType == "sinceImagePushed":
			untaggedDays = s.CountNumber
		}
	}
	return p.KeptTags(), keepLast, untaggedDays
}
