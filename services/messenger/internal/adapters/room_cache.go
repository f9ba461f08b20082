package adapters

import (
	"slices"
	"sync"
	"time"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// roomCache keeps the rooms that grouped posts read, so a group of posts
// is one statement instead of two. An entry may be stale (another task
// added a member): the group's statement stores a post only if the room's
// member_count still equals the cached list's length, and sends the others
// back to the one-transaction path, which reads the room and refreshes the
// entry. Members are only ever added and rooms never deleted, so that
// check is the whole of staleness.
type roomCache struct {
	mu    sync.Mutex
	rooms map[string]cachedRoom
	max   int
}

type cachedRoom struct {
	name, createdBy string
	createdAt       time.Time
	members         []string
}

func newRoomCache(maxRooms int) *roomCache {
	return &roomCache{rooms: make(map[string]cachedRoom), max: maxRooms}
}

// get returns a fresh Room (the domain records events on it, so groups must
// not share one) built from the cached entry.
func (c *roomCache) get(id string) (*room.Room, bool) {
	c.mu.Lock()
	e, ok := c.rooms[id]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return room.Restore(id, e.name, e.createdBy, e.createdAt, e.members), true
}

func (c *roomCache) put(r *room.Room) {
	e := cachedRoom{name: r.Name, createdBy: r.CreatedBy, createdAt: r.CreatedAt, members: slices.Clip(r.Members())}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.rooms[r.ID]; !ok && len(c.rooms) >= c.max {
		clear(c.rooms) // crude, but a busy room is back after one read
	}
	c.rooms[r.ID] = e
}

func (c *roomCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rooms, id)
}
