// Package app is notifier's application layer.
package app

import (
	"github.com/pivotapp/platform/services/notifier/internal/app/command"
	"github.com/pivotapp/platform/services/notifier/internal/app/query"
)

// Application is every use case of notifier.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change state.
type Commands struct {
	Notify command.NotifyHandler
}

// Queries read state.
type Queries struct {
	ListNotifications query.ListNotificationsHandler
}
