package jetstream

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/jsm.go"
	"github.com/nats-io/jsm.go/api"
)

// OwnerMetadataKey is the stream metadata key that records StreamConfig.Owner
// on the server, so an imported stream knows its owner.
const OwnerMetadataKey = "pivot.owner"

// ManagedMetadataKey marks a stream or consumer this package created, so a create
// interrupted before Terraform saved its state is adopted by the next one
// rather than refused. Its value is ManagedMetadataValue.
const (
	ManagedMetadataKey   = "pivot.managed-by"
	ManagedMetadataValue = "terraform-provider-pivot"
)

// Unlimited is the value JetStream uses for "no limit" on counts and sizes.
const Unlimited = -1

// DefaultDuplicateWindow is the server's duplicate window when none is given.
const DefaultDuplicateWindow = 2 * time.Minute

// Stream settings that take one of a fixed set of values.
const (
	RetentionLimits    = "limits"
	RetentionInterest  = "interest"
	RetentionWorkQueue = "workqueue"

	StorageFile   = "file"
	StorageMemory = "memory"

	DiscardOld = "old"
	DiscardNew = "new"

	CompressionNone = "none"
	CompressionS2   = "s2"

	PersistDefault = "default"
	PersistAsync   = "async"
)

// Consumer settings that take one of a fixed set of values.
const (
	DeliverAll             = "all"
	DeliverLast            = "last"
	DeliverNew             = "new"
	DeliverByStartSequence = "by_start_sequence"
	DeliverByStartTime     = "by_start_time"
	DeliverLastPerSubject  = "last_per_subject"

	AckNone        = "none"
	AckAll         = "all"
	AckExplicit    = "explicit"
	AckFlowControl = "flow_control"

	ReplayInstant  = "instant"
	ReplayOriginal = "original"

	PriorityNone         = "none"
	PriorityOverflow     = "overflow"
	PriorityPinnedClient = "pinned_client"
	PriorityPrioritized  = "prioritized"
)

// Allowed values, in the order documentation lists them.
var (
	Retentions       = []string{RetentionLimits, RetentionInterest, RetentionWorkQueue}
	Storages         = []string{StorageFile, StorageMemory}
	Discards         = []string{DiscardOld, DiscardNew}
	Compressions     = []string{CompressionNone, CompressionS2}
	PersistModes     = []string{PersistDefault, PersistAsync}
	DeliverPolicies  = []string{DeliverAll, DeliverLast, DeliverNew, DeliverByStartSequence, DeliverByStartTime, DeliverLastPerSubject}
	AckPolicies      = []string{AckExplicit, AckAll, AckNone, AckFlowControl}
	ReplayPolicies   = []string{ReplayInstant, ReplayOriginal}
	PriorityPolicies = []string{PriorityNone, PriorityOverflow, PriorityPinnedClient, PriorityPrioritized}
)

// StreamConfig is a stream's desired configuration. Zero values mean the
// server's default, except the limits, where Unlimited (-1) is explicit and
// 0 is also read as unlimited.
type StreamConfig struct {
	Name        string
	Description string
	// Owner names the service that owns the stream; every subject must then
	// sit under "<owner>.". Stored in the stream's metadata.
	Owner    string
	Subjects []string

	Retention            string // limits (default), interest, workqueue
	Storage              string // file (default), memory
	Discard              string // old (default), new
	DiscardNewPerSubject bool

	MaxMsgs           int64
	MaxBytes          int64
	MaxAge            time.Duration
	MaxMsgSize        int32
	MaxMsgsPerSubject int64
	MaxConsumers      int
	// DuplicateWindow 0 lets the server choose (2m, or MaxAge when shorter).
	DuplicateWindow time.Duration
	Replicas        int
	NoAck           bool
	Compression     string // none (default), s2

	Placement        *Placement
	Mirror           *Source
	Sources          []Source
	SubjectTransform *SubjectTransform
	Republish        *Republish

	DenyDelete   bool
	DenyPurge    bool
	AllowRollup  bool
	AllowDirect  bool
	MirrorDirect bool
	Metadata     map[string]string

	ConsumerLimits ConsumerLimits

	AllowMsgTTL            bool
	SubjectDeleteMarkerTTL time.Duration
	FirstSeq               uint64
	AllowMsgCounter        bool
	AllowAtomic            bool
	AllowMsgSchedules      bool
	AllowBatched           bool
	PersistMode            string // default (default), async
}

// Placement pins a stream to a cluster or to servers with tags.
type Placement struct {
	Cluster string
	Tags    []string
}

// Source is a stream a mirror or sourced stream reads from.
type Source struct {
	Name              string
	StartSeq          uint64
	StartTime         time.Time
	FilterSubject     string
	SubjectTransforms []SubjectTransform
	// Domain is shorthand for an External API prefix of $JS.<domain>.API.
	Domain   string
	External *External
	Consumer *SourceConsumer
}

// External reaches a stream in another account or domain.
type External struct {
	APIPrefix     string
	DeliverPrefix string
}

// SourceConsumer names a durable consumer on the origin to source through
// (nats-server 2.14+).
type SourceConsumer struct {
	Name           string
	DeliverSubject string
}

// SubjectTransform maps subjects matching Source to Destination.
type SubjectTransform struct {
	Source      string
	Destination string
}

// Republish republishes stored messages matching Source to Destination.
type Republish struct {
	Source      string
	Destination string
	HeadersOnly bool
}

// ConsumerLimits are defaults and ceilings for the stream's consumers.
type ConsumerLimits struct {
	InactiveThreshold time.Duration
	MaxAckPending     int
}

// ConsumerConfig is a durable consumer's desired configuration.
type ConsumerConfig struct {
	Stream      string
	Durable     string
	Description string

	DeliverPolicy string // all (default), last, new, by_start_sequence, by_start_time, last_per_subject
	OptStartSeq   uint64
	OptStartTime  time.Time

	AckPolicy  string // explicit (default), all, none, flow_control
	AckWait    time.Duration
	MaxDeliver int
	BackOff    []time.Duration

	FilterSubject  string
	FilterSubjects []string
	ReplayPolicy   string // instant (default), original
	// SampleFrequency is the percentage of acks sampled for observability.
	SampleFrequency int
	MaxAckPending   int
	HeadersOnly     bool

	// Push consumers.
	DeliverSubject string
	DeliverGroup   string
	Heartbeat      time.Duration
	FlowControl    bool
	RateLimitBPS   uint64

	// Pull consumers.
	MaxWaiting      int
	MaxBatch        int
	MaxExpires      time.Duration
	MaxBytes        int
	PriorityPolicy  string
	PriorityGroups  []string
	PriorityTimeout time.Duration

	InactiveThreshold time.Duration
	Replicas          int
	MemoryStorage     bool
	Metadata          map[string]string
	// PauseUntil, when in the future, pauses delivery until then.
	PauseUntil time.Time
}

// IsPush reports whether the consumer delivers to a subject.
func (c ConsumerConfig) IsPush() bool { return c.DeliverSubject != "" }

// DomainAPIPrefix is the JetStream API prefix of a domain.
func DomainAPIPrefix(domain string) string { return "$JS." + domain + ".API" }

var domainPrefixRe = regexp.MustCompile(`^\$JS\.([^.*>]+)\.API$`)

// DomainFromAPIPrefix returns the domain an API prefix names, if it is one.
func DomainFromAPIPrefix(prefix string) (string, bool) {
	m := domainPrefixRe.FindStringSubmatch(prefix)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// toAPI builds the wire configuration.
func (c StreamConfig) toAPI() (api.StreamConfig, error) {
	out := api.StreamConfig{
		Name:                   c.Name,
		Description:            c.Description,
		Subjects:               c.Subjects,
		MaxConsumers:           c.MaxConsumers,
		MaxMsgsPer:             c.MaxMsgsPerSubject,
		MaxMsgs:                c.MaxMsgs,
		MaxBytes:               c.MaxBytes,
		MaxAge:                 c.MaxAge,
		MaxMsgSize:             c.MaxMsgSize,
		Replicas:               c.Replicas,
		NoAck:                  c.NoAck,
		Duplicates:             c.DuplicateWindow,
		DenyDelete:             c.DenyDelete,
		DenyPurge:              c.DenyPurge,
		RollupAllowed:          c.AllowRollup,
		AllowDirect:            c.AllowDirect,
		MirrorDirect:           c.MirrorDirect,
		DiscardNewPer:          c.DiscardNewPerSubject,
		FirstSeq:               c.FirstSeq,
		AllowMsgTTL:            c.AllowMsgTTL,
		SubjectDeleteMarkerTTL: c.SubjectDeleteMarkerTTL,
		ConsumerLimits:         api.StreamConsumerLimits{InactiveThreshold: c.ConsumerLimits.InactiveThreshold, MaxAckPending: c.ConsumerLimits.MaxAckPending},
		AllowAtomicPublish:     c.AllowAtomic,
		AllowMsgCounter:        c.AllowMsgCounter,
		AllowMsgSchedules:      c.AllowMsgSchedules,
		AllowBatchPublish:      c.AllowBatched,
	}
	var err error
	if out.Retention, err = parseRetention(c.Retention); err != nil {
		return out, err
	}
	if out.Storage, err = parseStorage(c.Storage); err != nil {
		return out, err
	}
	if out.Discard, err = parseDiscard(c.Discard); err != nil {
		return out, err
	}
	if out.Compression, err = parseCompression(c.Compression); err != nil {
		return out, err
	}
	if out.PersistMode, err = parsePersistMode(c.PersistMode); err != nil {
		return out, err
	}
	if out.Replicas == 0 {
		out.Replicas = 1
	}
	if p := c.Placement; p != nil && (p.Cluster != "" || len(p.Tags) > 0) {
		out.Placement = &api.Placement{Cluster: p.Cluster, Tags: p.Tags}
	}
	if c.Mirror != nil {
		out.Mirror = c.Mirror.toAPI()
	}
	for _, s := range c.Sources {
		out.Sources = append(out.Sources, s.toAPI())
	}
	if t := c.SubjectTransform; t != nil {
		out.SubjectTransform = &api.SubjectTransformConfig{Source: t.Source, Destination: t.Destination}
	}
	if r := c.Republish; r != nil {
		out.RePublish = &api.RePublish{Source: r.Source, Destination: r.Destination, HeadersOnly: r.HeadersOnly}
	}
	out.Metadata = maps.Clone(c.Metadata)
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if c.Owner != "" {
		out.Metadata[OwnerMetadataKey] = c.Owner
	}
	out.Metadata[ManagedMetadataKey] = ManagedMetadataValue
	return out, nil
}

func (s Source) toAPI() *api.StreamSource {
	out := &api.StreamSource{Name: s.Name, OptStartSeq: s.StartSeq, FilterSubject: s.FilterSubject}
	if !s.StartTime.IsZero() {
		t := s.StartTime.UTC()
		out.OptStartTime = &t
	}
	for _, t := range s.SubjectTransforms {
		out.SubjectTransforms = append(out.SubjectTransforms, api.SubjectTransformConfig{Source: t.Source, Destination: t.Destination})
	}
	switch {
	case s.External != nil:
		out.External = &api.ExternalStream{ApiPrefix: s.External.APIPrefix, DeliverPrefix: s.External.DeliverPrefix}
	case s.Domain != "":
		out.External = &api.ExternalStream{ApiPrefix: DomainAPIPrefix(s.Domain)}
	}
	if s.Consumer != nil {
		out.Consumer = &api.StreamConsumerSource{Name: s.Consumer.Name, DeliverSubject: s.Consumer.DeliverSubject}
	}
	return out
}

// streamFromAPI reads a server configuration back. Server-managed metadata
// (_nats.*) and the owner key are taken out of Metadata.
func streamFromAPI(a api.StreamConfig) StreamConfig {
	c := StreamConfig{
		Name:                   a.Name,
		Description:            a.Description,
		Subjects:               a.Subjects,
		Retention:              retentionString(a.Retention),
		Storage:                storageString(a.Storage),
		Discard:                discardString(a.Discard),
		DiscardNewPerSubject:   a.DiscardNewPer,
		MaxMsgs:                a.MaxMsgs,
		MaxBytes:               a.MaxBytes,
		MaxAge:                 a.MaxAge,
		MaxMsgSize:             a.MaxMsgSize,
		MaxMsgsPerSubject:      a.MaxMsgsPer,
		MaxConsumers:           a.MaxConsumers,
		DuplicateWindow:        a.Duplicates,
		Replicas:               a.Replicas,
		NoAck:                  a.NoAck,
		Compression:            compressionString(a.Compression),
		DenyDelete:             a.DenyDelete,
		DenyPurge:              a.DenyPurge,
		AllowRollup:            a.RollupAllowed,
		AllowDirect:            a.AllowDirect,
		MirrorDirect:           a.MirrorDirect,
		ConsumerLimits:         ConsumerLimits{InactiveThreshold: a.ConsumerLimits.InactiveThreshold, MaxAckPending: a.ConsumerLimits.MaxAckPending},
		AllowMsgTTL:            a.AllowMsgTTL,
		SubjectDeleteMarkerTTL: a.SubjectDeleteMarkerTTL,
		FirstSeq:               a.FirstSeq,
		AllowMsgCounter:        a.AllowMsgCounter,
		AllowAtomic:            a.AllowAtomicPublish,
		AllowMsgSchedules:      a.AllowMsgSchedules,
		AllowBatched:           a.AllowBatchPublish,
		PersistMode:            persistModeString(a.PersistMode),
	}
	if p := a.Placement; p != nil && (p.Cluster != "" || len(p.Tags) > 0) {
		c.Placement = &Placement{Cluster: p.Cluster, Tags: p.Tags}
	}
	if a.Mirror != nil {
		m := sourceFromAPI(a.Mirror)
		c.Mirror = &m
	}
	for _, s := range a.Sources {
		if s != nil {
			c.Sources = append(c.Sources, sourceFromAPI(s))
		}
	}
	if t := a.SubjectTransform; t != nil {
		c.SubjectTransform = &SubjectTransform{Source: t.Source, Destination: t.Destination}
	}
	if r := a.RePublish; r != nil {
		c.Republish = &Republish{Source: r.Source, Destination: r.Destination, HeadersOnly: r.HeadersOnly}
	}
	md := jsm.FilterServerMetadata(a.Metadata)
	if owner, ok := md[OwnerMetadataKey]; ok {
		c.Owner = owner
		delete(md, OwnerMetadataKey)
	}
	delete(md, ManagedMetadataKey)
	if len(md) > 0 {
		c.Metadata = md
	}
	return c
}

func sourceFromAPI(a *api.StreamSource) Source {
	s := Source{Name: a.Name, StartSeq: a.OptStartSeq, FilterSubject: a.FilterSubject}
	if a.OptStartTime != nil {
		s.StartTime = a.OptStartTime.UTC()
	}
	for _, t := range a.SubjectTransforms {
		s.SubjectTransforms = append(s.SubjectTransforms, SubjectTransform{Source: t.Source, Destination: t.Destination})
	}
	if e := a.External; e != nil && (e.ApiPrefix != "" || e.DeliverPrefix != "") {
		s.External = &External{APIPrefix: e.ApiPrefix, DeliverPrefix: e.DeliverPrefix}
	}
	if cs := a.Consumer; cs != nil {
		s.Consumer = &SourceConsumer{Name: cs.Name, DeliverSubject: cs.DeliverSubject}
	}
	return s
}

// managedMetadata is md with this package's mark added.
func managedMetadata(md map[string]string) map[string]string {
	out := maps.Clone(md)
	if out == nil {
		out = map[string]string{}
	}
	out[ManagedMetadataKey] = ManagedMetadataValue
	return out
}

func (c ConsumerConfig) toAPI() (api.ConsumerConfig, error) {
	out := api.ConsumerConfig{
		Description:        c.Description,
		AckWait:            c.AckWait,
		DeliverSubject:     c.DeliverSubject,
		DeliverGroup:       c.DeliverGroup,
		Durable:            c.Durable,
		Name:               c.Durable,
		FilterSubject:      c.FilterSubject,
		FilterSubjects:     c.FilterSubjects,
		FlowControl:        c.FlowControl,
		Heartbeat:          c.Heartbeat,
		MaxAckPending:      c.MaxAckPending,
		MaxDeliver:         c.MaxDeliver,
		BackOff:            c.BackOff,
		MaxWaiting:         c.MaxWaiting,
		OptStartSeq:        c.OptStartSeq,
		RateLimit:          c.RateLimitBPS,
		HeadersOnly:        c.HeadersOnly,
		MaxRequestBatch:    c.MaxBatch,
		MaxRequestExpires:  c.MaxExpires,
		MaxRequestMaxBytes: c.MaxBytes,
		InactiveThreshold:  c.InactiveThreshold,
		Replicas:           c.Replicas,
		MemoryStorage:      c.MemoryStorage,
		Metadata:           managedMetadata(c.Metadata),
		PriorityGroups:     c.PriorityGroups,
		PinnedTTL:          c.PriorityTimeout,
	}
	if !c.OptStartTime.IsZero() {
		t := c.OptStartTime.UTC()
		out.OptStartTime = &t
	}
	if !c.PauseUntil.IsZero() {
		out.PauseUntil = c.PauseUntil.UTC()
	}
	if c.SampleFrequency > 0 {
		out.SampleFrequency = strconv.Itoa(c.SampleFrequency) + "%"
	}
	var err error
	if out.DeliverPolicy, err = parseDeliverPolicy(c.DeliverPolicy); err != nil {
		return out, err
	}
	if out.AckPolicy, err = parseAckPolicy(c.AckPolicy); err != nil {
		return out, err
	}
	if out.ReplayPolicy, err = parseReplayPolicy(c.ReplayPolicy); err != nil {
		return out, err
	}
	if out.PriorityPolicy, err = parsePriorityPolicy(c.PriorityPolicy); err != nil {
		return out, err
	}
	return out, nil
}

func consumerFromAPI(stream string, a api.ConsumerConfig) ConsumerConfig {
	c := ConsumerConfig{
		Stream:            stream,
		Durable:           a.Durable,
		Description:       a.Description,
		DeliverPolicy:     deliverPolicyString(a.DeliverPolicy),
		OptStartSeq:       a.OptStartSeq,
		AckPolicy:         ackPolicyString(a.AckPolicy),
		AckWait:           a.AckWait,
		MaxDeliver:        a.MaxDeliver,
		BackOff:           a.BackOff,
		FilterSubject:     a.FilterSubject,
		FilterSubjects:    a.FilterSubjects,
		ReplayPolicy:      replayPolicyString(a.ReplayPolicy),
		MaxAckPending:     a.MaxAckPending,
		HeadersOnly:       a.HeadersOnly,
		DeliverSubject:    a.DeliverSubject,
		DeliverGroup:      a.DeliverGroup,
		Heartbeat:         a.Heartbeat,
		FlowControl:       a.FlowControl,
		RateLimitBPS:      a.RateLimit,
		MaxWaiting:        a.MaxWaiting,
		MaxBatch:          a.MaxRequestBatch,
		MaxExpires:        a.MaxRequestExpires,
		MaxBytes:          a.MaxRequestMaxBytes,
		PriorityPolicy:    priorityPolicyString(a.PriorityPolicy),
		PriorityGroups:    a.PriorityGroups,
		PriorityTimeout:   a.PinnedTTL,
		InactiveThreshold: a.InactiveThreshold,
		Replicas:          a.Replicas,
		MemoryStorage:     a.MemoryStorage,
	}
	if c.Durable == "" {
		c.Durable = a.Name
	}
	if a.OptStartTime != nil {
		c.OptStartTime = a.OptStartTime.UTC()
	}
	if !a.PauseUntil.IsZero() {
		c.PauseUntil = a.PauseUntil.UTC()
	}
	if f := strings.TrimSuffix(a.SampleFrequency, "%"); f != "" {
		c.SampleFrequency, _ = strconv.Atoi(f)
	}
	md := jsm.FilterServerMetadata(a.Metadata)
	delete(md, ManagedMetadataKey)
	if len(md) > 0 {
		c.Metadata = md
	}
	return c
}

// The enum converters below accept "" as the server's default.

func parseRetention(s string) (api.RetentionPolicy, error) {
	switch s {
	case "", RetentionLimits:
		return api.LimitsPolicy, nil
	case RetentionInterest:
		return api.InterestPolicy, nil
	case RetentionWorkQueue:
		return api.WorkQueuePolicy, nil
	}
	return 0, fieldErr("retention", "%q is not a retention policy; use one of %s", s, strings.Join(Retentions, ", "))
}

func retentionString(p api.RetentionPolicy) string {
	switch p {
	case api.InterestPolicy:
		return RetentionInterest
	case api.WorkQueuePolicy:
		return RetentionWorkQueue
	}
	return RetentionLimits
}

func parseStorage(s string) (api.StorageType, error) {
	switch s {
	case "", StorageFile:
		return api.FileStorage, nil
	case StorageMemory:
		return api.MemoryStorage, nil
	}
	return 0, fieldErr("storage", "%q is not a storage type; use one of %s", s, strings.Join(Storages, ", "))
}

func storageString(t api.StorageType) string {
	if t == api.MemoryStorage {
		return StorageMemory
	}
	return StorageFile
}

func parseDiscard(s string) (api.DiscardPolicy, error) {
	switch s {
	case "", DiscardOld:
		return api.DiscardOld, nil
	case DiscardNew:
		return api.DiscardNew, nil
	}
	return 0, fieldErr("discard", "%q is not a discard policy; use one of %s", s, strings.Join(Discards, ", "))
}

func discardString(p api.DiscardPolicy) string {
	if p == api.DiscardNew {
		return DiscardNew
	}
	return DiscardOld
}

func parseCompression(s string) (api.Compression, error) {
	switch s {
	case "", CompressionNone:
		return api.NoCompression, nil
	case CompressionS2:
		return api.S2Compression, nil
	}
	return 0, fieldErr("compression", "%q is not a compression; use one of %s", s, strings.Join(Compressions, ", "))
}

func compressionString(c api.Compression) string {
	if c == api.S2Compression {
		return CompressionS2
	}
	return CompressionNone
}

func parsePersistMode(s string) (api.PersistModeType, error) {
	switch s {
	case "", PersistDefault:
		return api.DefaultPersistMode, nil
	case PersistAsync:
		return api.AsyncPersistMode, nil
	}
	return 0, fieldErr("persist_mode", "%q is not a persist mode; use one of %s", s, strings.Join(PersistModes, ", "))
}

func persistModeString(p api.PersistModeType) string {
	if p == api.AsyncPersistMode {
		return PersistAsync
	}
	return PersistDefault
}

func parseDeliverPolicy(s string) (api.DeliverPolicy, error) {
	switch s {
	case "", DeliverAll:
		return api.DeliverAll, nil
	case DeliverLast:
		return api.DeliverLast, nil
	case DeliverNew:
		return api.DeliverNew, nil
	case DeliverByStartSequence:
		return api.DeliverByStartSequence, nil
	case DeliverByStartTime:
		return api.DeliverByStartTime, nil
	case DeliverLastPerSubject:
		return api.DeliverLastPerSubject, nil
	}
	return 0, fieldErr("deliver_policy", "%q is not a deliver policy; use one of %s", s, strings.Join(DeliverPolicies, ", "))
}

func deliverPolicyString(p api.DeliverPolicy) string {
	switch p {
	case api.DeliverLast:
		return DeliverLast
	case api.DeliverNew:
		return DeliverNew
	case api.DeliverByStartSequence:
		return DeliverByStartSequence
	case api.DeliverByStartTime:
		return DeliverByStartTime
	case api.DeliverLastPerSubject:
		return DeliverLastPerSubject
	}
	return DeliverAll
}

func parseAckPolicy(s string) (api.AckPolicy, error) {
	switch s {
	case "", AckExplicit:
		return api.AckExplicit, nil
	case AckAll:
		return api.AckAll, nil
	case AckNone:
		return api.AckNone, nil
	case AckFlowControl:
		return api.AckFlowControl, nil
	}
	return 0, fieldErr("ack_policy", "%q is not an ack policy; use one of %s", s, strings.Join(AckPolicies, ", "))
}

func ackPolicyString(p api.AckPolicy) string {
	switch p {
	case api.AckAll:
		return AckAll
	case api.AckNone:
		return AckNone
	case api.AckFlowControl:
		return AckFlowControl
	}
	return AckExplicit
}

func parseReplayPolicy(s string) (api.ReplayPolicy, error) {
	switch s {
	case "", ReplayInstant:
		return api.ReplayInstant, nil
	case ReplayOriginal:
		return api.ReplayOriginal, nil
	}
	return 0, fieldErr("replay_policy", "%q is not a replay policy; use one of %s", s, strings.Join(ReplayPolicies, ", "))
}

func replayPolicyString(p api.ReplayPolicy) string {
	if p == api.ReplayOriginal {
		return ReplayOriginal
	}
	return ReplayInstant
}

func parsePriorityPolicy(s string) (api.PriorityPolicy, error) {
	switch s {
	case "", PriorityNone:
		return api.PriorityNone, nil
	case PriorityOverflow:
		return api.PriorityOverflow, nil
	case PriorityPinnedClient:
		return api.PriorityPinnedClient, nil
	case PriorityPrioritized:
		return api.PriorityPrioritized, nil
	}
	return 0, fieldErr("priority_policy", "%q is not a priority policy; use one of %s", s, strings.Join(PriorityPolicies, ", "))
}

func priorityPolicyString(p api.PriorityPolicy) string {
	switch p {
	case api.PriorityOverflow:
		return PriorityOverflow
	case api.PriorityPinnedClient:
		return PriorityPinnedClient
	case api.PriorityPrioritized:
		return PriorityPrioritized
	}
	return PriorityNone
}

func fieldErr(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

// Server defaults for consumer settings left unset.
const (
	DefaultAckWait         = 30 * time.Second
	DefaultMaxWaiting      = 512
	DefaultPriorityTimeout = 2 * time.Minute
)
