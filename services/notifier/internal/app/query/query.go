// Package query holds notifier's read use cases.
package query

import (
	"context"
	"errors"

	"github.com/pivotapp/platform/services/notifier/internal/domain/notification"
)

// ErrInvalidPrincipal rejects an empty principal.
var ErrInvalidPrincipal = errors.New("principal_user_id must not be empty")

// Page sizes of ListNotifications.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListNotifications returns the principal's newest notifications.
type ListNotifications struct {
	Principal string
	PageSize  int
}

// ListNotificationsHandler handles ListNotifications.
type ListNotificationsHandler struct{ read notification.ReadModel }

// NewListNotificationsHandler returns a ListNotificationsHandler.
func NewListNotificationsHandler(read notification.ReadModel) ListNotificationsHandler {
	if read == nil {
		panic("query: nil read model")
	}
	return ListNotificationsHandler{read: read}
}

// Handle lists the principal's notifications; a principal only ever sees
// their own.
func (h ListNotificationsHandler) Handle(ctx context.Context, q ListNotifications) ([]notification.Notification, error) {
	if q.Principal == "" {
		return nil, ErrInvalidPrincipal
	}
	size := q.PageSize
	switch {
	case size <= 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	return h.read.ForUser(ctx, q.Principal, size)
}
