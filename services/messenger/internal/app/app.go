// Package app is messenger's application layer: the use cases ports call.
package app

import (
	"github.com/pivotapp/platform/services/messenger/internal/app/command"
	"github.com/pivotapp/platform/services/messenger/internal/app/query"
)

// Application is every use case of messenger.
type Application struct {
	Commands Commands
	Queries  Queries
}

// Commands change state.
type Commands struct {
	CreateRoom    command.CreateRoomHandler
	AddRoomMember command.AddRoomMemberHandler
	SendMessage   command.SendMessageHandler
}

// Queries read state.
type Queries struct {
	GetRoom      query.GetRoomHandler
	ListRooms    query.ListRoomsHandler
	ListMessages query.ListMessagesHandler
}
