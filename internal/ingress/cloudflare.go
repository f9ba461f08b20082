package ingress

import (
	"context"
	"errors"
	"fmt"

	"github.com/pivotapp/platform/internal/cfdns"
)

// Cloudflare adapts a cfdns client to DNS.
func Cloudflare(c *cfdns.Client) DNS { return cloudflareDNS{c} }

type cloudflareDNS struct{ c *cfdns.Client }

func (d cloudflareDNS) ZoneID(ctx context.Context, zone string) (string, error) {
	id, err := d.c.ZoneID(ctx, zone)
	return id, notFound(err)
}

func (d cloudflareDNS) Find(ctx context.Context, zoneID, name, typ string) (Record, error) {
	recs, err := d.c.Find(ctx, zoneID, name, typ)
	if err != nil {
		return Record{}, err
	}
	switch len(recs) {
	case 0:
		return Record{}, fmt.Errorf("%s record %s: %w", typ, name, ErrNotFound)
	case 1:
		return fromCF(recs[0]), nil
	}
	return Record{}, fmt.Errorf("%d %s records at %s; remove the extra ones", len(recs), typ, name)
}

func (d cloudflareDNS) Get(ctx context.Context, zoneID, id string) (Record, error) {
	r, err := d.c.Get(ctx, zoneID, id)
	if err != nil {
		return Record{}, notFound(err)
	}
	return fromCF(r), nil
}

func (d cloudflareDNS) Create(ctx context.Context, zoneID string, r Record) (Record, error) {
	out, err := d.c.Create(ctx, zoneID, toCF(r))
	return fromCF(out), err
}

func (d cloudflareDNS) Update(ctx context.Context, zoneID string, r Record) (Record, error) {
	out, err := d.c.Update(ctx, zoneID, toCF(r))
	return fromCF(out), notFound(err)
}

func (d cloudflareDNS) Delete(ctx context.Context, zoneID, id string) error {
	return d.c.Delete(ctx, zoneID, id)
}

// notFound maps cfdns's not-found onto this package's, keeping the text.
func notFound(err error) error {
	if err != nil && errors.Is(err, cfdns.ErrNotFound) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	}
	return err
}

func fromCF(r cfdns.Record) Record {
	return Record{ID: r.ID, Name: r.Name, Type: r.Type, Content: r.Content, Proxied: r.Proxied, TTL: r.TTL, Comment: r.Comment}
}

func toCF(r Record) cfdns.Record {
	return cfdns.Record{ID: r.ID, Name: r.Name, Type: r.Type, Content: r.Content, Proxied: r.Proxied, TTL: r.TTL, Comment: r.Comment}
}
