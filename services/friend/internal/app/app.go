// Package app is friend's application layer.
package app

import (
	"github.com/pivotapp/platform/services/friend/internal/app/command"
	"github.com/pivotapp/platform/services/friend/internal/app/query"
)

// Application is every use case of friend.
type Application struct {
	Commands command.Handler
	Queries  query.Handler
}
