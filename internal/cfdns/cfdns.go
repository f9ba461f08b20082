// Package cfdns is the Cloudflare DNS building block shared by the Terraform
// provider and the CLI: a narrow, plain-Go wrapper over cloudflare-go v7 for
// looking up zones and managing DNS records.
package cfdns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/dns"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/zones"
)

// DefaultBaseURL is the real Cloudflare API, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4/"

// ErrNotFound reports that a zone or record does not exist. Errors from Get,
// Update and ZoneID match it with errors.Is.
var ErrNotFound = errors.New("not found")

// Config says how to reach Cloudflare.
type Config struct {
	// APIToken is a Cloudflare API token with DNS edit rights on the zones.
	APIToken string
	// BaseURL overrides the API base, e.g. a cfemu emulator's URL; empty
	// means the real Cloudflare API.
	BaseURL string
}

// Record is a DNS record. Name is the fully qualified name when read back;
// on write it may also be relative to the zone or "@". TTL 0 on write means
// automatic, which the API reports as 1.
type Record struct {
	ID, ZoneID, Name, Type, Content string
	Proxied                         bool
	TTL                             int
	Comment                         string
}

// Client manages DNS records through the Cloudflare API.
type Client struct {
	api *cloudflare.Client
}

// New checks cfg and returns a client. No request is made.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.APIToken) == "" {
		return nil, errors.New("cloudflare api_token is required: set api_token or CLOUDFLARE_API_TOKEN")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("parse cloudflare base_url %q: want an http or https URL", base)
	}
	api := cloudflare.NewClient(
		// Config is the only source of settings: the base URL is always
		// set, and global-key headers that NewClient picks up from
		// CLOUDFLARE_API_KEY/CLOUDFLARE_EMAIL are dropped so they cannot
		// compete with the token.
		option.WithBaseURL(base),
		option.WithAPIToken(cfg.APIToken),
		option.WithHeaderDel("X-Auth-Key"),
		option.WithHeaderDel("X-Auth-Email"),
		option.WithHeaderDel("X-Auth-User-Service-Key"),
	)
	return &Client{api: api}, nil
}

// ZoneID returns the ID of the zone with the given name.
func (c *Client) ZoneID(ctx context.Context, zoneName string) (string, error) {
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(zoneName)), ".")
	res, err := c.api.Zones.List(ctx, zones.ZoneListParams{Name: cloudflare.F(name)})
	if err != nil {
		return "", fmt.Errorf("look up zone %q: %w", name, apiError(err))
	}
	for _, z := range res.Result {
		if strings.EqualFold(z.Name, name) {
			return z.ID, nil
		}
	}
	return "", fmt.Errorf("look up zone %q: no such zone is visible to this api token: %w", name, ErrNotFound)
}

// Get returns the record with the given ID, or an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, zoneID, id string) (Record, error) {
	res, err := c.api.DNS.Records.Get(ctx, id, dns.RecordGetParams{ZoneID: cloudflare.F(zoneID)})
	if err != nil {
		return Record{}, fmt.Errorf("get dns record %s: %w", id, apiError(err))
	}
	return fromResponse(zoneID, res), nil
}

// Create adds r to the zone; r.ID is ignored.
func (c *Client) Create(ctx context.Context, zoneID string, r Record) (Record, error) {
	res, err := c.api.DNS.Records.New(ctx, dns.RecordNewParams{ZoneID: cloudflare.F(zoneID), Body: body(r)})
	if err != nil {
		return Record{}, fmt.Errorf("create dns record %s %s: %w", r.Type, r.Name, apiError(err))
	}
	return fromResponse(zoneID, res), nil
}

// Update overwrites the record r.ID with r. Fields left empty take the API's
// defaults rather than keeping their old values: an empty Comment removes
// the comment.
func (c *Client) Update(ctx context.Context, zoneID string, r Record) (Record, error) {
	if r.ID == "" {
		return Record{}, errors.New("update dns record: record id is required")
	}
	b := body(r)
	res, err := c.api.DNS.Records.Update(ctx, r.ID, dns.RecordUpdateParams{ZoneID: cloudflare.F(zoneID), Body: dns.RecordUpdateParamsBody{
		Name: b.Name, Type: cloudflare.F(dns.RecordUpdateParamsBodyType(r.Type)), Content: b.Content,
		Proxied: b.Proxied, TTL: b.TTL, Comment: b.Comment,
	}})
	if err != nil {
		return Record{}, fmt.Errorf("update dns record %s: %w", r.ID, apiError(err))
	}
	return fromResponse(zoneID, res), nil
}

// Delete removes the record. A record that is already gone is not an error,
// so deletes can be retried.
func (c *Client) Delete(ctx context.Context, zoneID, id string) error {
	_, err := c.api.DNS.Records.Delete(ctx, id, dns.RecordDeleteParams{ZoneID: cloudflare.F(zoneID)})
	if err != nil {
		if err = apiError(err); errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete dns record %s: %w", id, err)
	}
	return nil
}

// Find returns the records with the given name and, unless typ is empty,
// type, reading every page. The API matches name against the fully
// qualified name ("www.example.com", not "www").
func (c *Client) Find(ctx context.Context, zoneID, name, typ string) ([]Record, error) {
	params := dns.RecordListParams{
		ZoneID:  cloudflare.F(zoneID),
		Name:    cloudflare.F(dns.RecordListParamsName{Exact: cloudflare.F(name)}),
		PerPage: cloudflare.F(5000.0),
	}
	if typ != "" {
		params.Type = cloudflare.F(dns.RecordListParamsType(strings.ToUpper(typ)))
	}
	var out []Record
	pager := c.api.DNS.Records.ListAutoPaging(ctx, params)
	for pager.Next() {
		res := pager.Current()
		out = append(out, fromResponse(zoneID, &res))
	}
	if err := pager.Err(); err != nil {
		return nil, fmt.Errorf("find dns records %s %s: %w", typ, name, apiError(err))
	}
	return out, nil
}

// body is the create/update payload. Proxied and comment are always sent so
// an overwrite cannot keep stale values.
func body(r Record) dns.RecordNewParamsBody {
	b := dns.RecordNewParamsBody{
		Name:    cloudflare.F(r.Name),
		Type:    cloudflare.F(dns.RecordNewParamsBodyType(r.Type)),
		Content: cloudflare.F(r.Content),
		Proxied: cloudflare.F(r.Proxied),
		Comment: cloudflare.F(r.Comment),
	}
	if r.TTL != 0 {
		b.TTL = cloudflare.F(dns.TTL(r.TTL))
	}
	return b
}

func fromResponse(zoneID string, res *dns.RecordResponse) Record {
	return Record{
		ID:      res.ID,
		ZoneID:  zoneID,
		Name:    res.Name,
		Type:    string(res.Type),
		Content: res.Content,
		Proxied: res.Proxied,
		TTL:     int(res.TTL),
		Comment: res.Comment,
	}
}

// apiErr is a failed API call. Its text is the status and the API's codes and
// messages; it unwraps to the client's *cloudflare.Error, which callers can
// inspect with errors.As, and to ErrNotFound for a 404.
type apiErr struct {
	Status int
	Errors []cloudflare.ErrorData
	cause  *cloudflare.Error
}

func (e *apiErr) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cloudflare api: %d %s", e.Status, http.StatusText(e.Status))
	for i, d := range e.Errors {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (%d)", sep, d.Message, d.Code)
	}
	return b.String()
}

func (e *apiErr) Unwrap() []error {
	if e.Status == http.StatusNotFound {
		return []error{e.cause, ErrNotFound}
	}
	return []error{e.cause}
}

// apiError replaces the client's error, whose text embeds the whole request
// URL and response body, with an apiErr; other errors pass through.
func apiError(err error) error {
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) {
		return err
	}
	return &apiErr{Status: cfErr.StatusCode, Errors: cfErr.Errors, cause: cfErr}
}
