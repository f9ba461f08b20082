// Package seed fills a local environment with sample rooms and messages
// through the services' own APIs, so every rule, event and notification
// happens as it would for real users. Every mutation carries a fixed
// idempotency key: seeding twice changes nothing.
package seed

import (
	"context"
	"fmt"
	"log/slog"
)

// Sample users (the IDs a local identity provider would issue).
const (
	Alice = "11111111-1111-4111-8111-111111111111"
	Bob   = "22222222-2222-4222-8222-222222222222"
	Carol = "33333333-3333-4333-8333-333333333333"
)

// Target is the API being seeded (friend or messenger).
type Target interface {
	CreateRoom(ctx context.Context, user, key, name string, members []string) (roomID string, err error)
	AddRoomMember(ctx context.Context, user, key, roomID, member string) error
	SendMessage(ctx context.Context, user, key, roomID, body string) error
}

type room struct {
	key     string
	name    string
	owner   string
	members []string
	later   []string // added after creation, to exercise AddRoomMember
	posts   []post
}

type post struct {
	user string
	body string
}

var rooms = []room{
	{
		key: "general", name: "General", owner: Alice, members: []string{Bob}, later: []string{Carol},
		posts: []post{
			{Alice, "Welcome to Pivot! 👋"},
			{Bob, "Hi Alice, glad to be here."},
			{Carol, "Hello both — what are we building today?"},
		},
	},
	{
		key: "launch", name: "Launch planning", owner: Bob, members: []string{Alice},
		posts: []post{
			{Bob, "Staging is green; promoting to production after lunch."},
			{Alice, "Tenant deployments follow automatically."},
		},
	},
}

// Result counts what a run asked for.
type Result struct {
	Rooms    int
	Messages int
}

// Run seeds the sample data.
func Run(ctx context.Context, t Target, logger *slog.Logger) (Result, error) {
	var res Result
	for _, r := range rooms {
		id, err := t.CreateRoom(ctx, r.owner, "seed:room:"+r.key, r.name, r.members)
		if err != nil {
			return res, fmt.Errorf("create room %s: %w", r.key, err)
		}
		res.Rooms++
		for _, m := range r.later {
			if err := t.AddRoomMember(ctx, r.owner, fmt.Sprintf("seed:member:%s:%s", r.key, m), id, m); err != nil {
				return res, fmt.Errorf("add member to %s: %w", r.key, err)
			}
		}
		for i, p := range r.posts {
			if err := t.SendMessage(ctx, p.user, fmt.Sprintf("seed:message:%s:%d", r.key, i), id, p.body); err != nil {
				return res, fmt.Errorf("post in %s: %w", r.key, err)
			}
			res.Messages++
		}
		logger.InfoContext(ctx, "seeded room", "room", r.name, "room_id", id, "messages", len(r.posts))
	}
	return res, nil
}
