// Package jetstream manages JetStream streams and durable consumers from
// plain Go configuration. It validates a configuration without a server
// (errors name the offending field), works out which server API level a
// configuration needs, and creates, reads, updates and deletes streams and
// consumers through jsm.go. It has no Terraform types: the provider and
// pivotctl both use it.
package jetstream
