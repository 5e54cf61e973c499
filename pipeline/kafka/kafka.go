package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/pipeline/spool"
)

// Errors returned by the sink.
var (
	// ErrTopicMissing wraps the name of a configured topic the cluster does
	// not have.
	ErrTopicMissing = errors.New("kafka: topic does not exist")
	// ErrNoBrokers means Config.Brokers is empty.
	ErrNoBrokers = errors.New("kafka: no brokers configured")
)

// Stats counts what the sink did.
type Stats struct {
	Batches  uint64 // produce batches acknowledged by Kafka on the direct path
	Sent     uint64 // events acknowledged by Kafka on the direct path
	Replayed uint64 // events acknowledged by Kafka from the spool
	Spooled  uint64 // events written to the spool
	Dropped  uint64 // events lost: the spool was full or disabled
	Spool    spool.Stats
}

// Sink writes events to Kafka, spooling what Kafka does not take. Write is
// meant to be called from one goroutine (a sink.Queue); Stats and Close are
// safe from any.
type Sink struct {
	cfg Config
	log *slog.Logger
	w   *kafkago.Writer
	sp  *spool.Spool // nil when spooling is disabled

	// sendMu serialises the choice between the direct path and the spool:
	// while backlog is set every new batch goes behind the spooled ones.
	sendMu  sync.Mutex
	backlog atomic.Bool

	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// arena holds copies of the current batch's bytes. kafka-go may keep
	// referencing message slices after a cancelled WriteMessages returns,
	// so the arena is replaced, not reused, after any failure.
	arena []byte
	msgs  []kafkago.Message

	sent, replayed, spooled, dropped, batches atomic.Uint64
}

// New connects the writer, checks that the topics exist, opens the spool and
// starts the replay goroutine.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if len(cfg.Brokers) == 0 {
		return nil, ErrNoBrokers
	}
	codec, err := Codec(cfg.Compression)
	if err != nil {
		return nil, err
	}
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "kafka.Sink")
	info, errs := Loggers(log)

	s := &Sink{
		cfg: cfg,
		log: log,
		w: &kafkago.Writer{
			Addr:            kafkago.TCP(cfg.Brokers...),
			Balancer:        &kafkago.Hash{},
			MaxAttempts:     cfg.maxAttempts(),
			WriteBackoffMin: 50 * time.Millisecond,
			WriteBackoffMax: 500 * time.Millisecond,
			BatchSize:       cfg.batchSize(),
			BatchBytes:      cfg.batchBytes(),
			BatchTimeout:    cfg.batchTimeout(),
			ReadTimeout:     cfg.writeTimeout(),
			WriteTimeout:    cfg.writeTimeout(),
			RequiredAcks:    kafkago.RequireAll,
			Compression:     codec,
			Logger:          info,
			ErrorLogger:     errs,
			Transport:       tr,
		},
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}

	if err := s.checkTopics(ctx, tr); err != nil {
		var ne net.Error
		if errors.Is(err, ErrTopicMissing) || cfg.Spool.Dir == "" || !(errors.As(err, &ne) ||
			errors.Is(err, context.DeadlineExceeded) || isConnErr(err)) {
			s.w.Close()
			return nil, err
		}
		// No broker answers: start in spooling mode rather than lose events.
		log.Warn("kafka unreachable at start, spooling", "brokers", cfg.Brokers, "error", err)
	}

	if cfg.Spool.Dir != "" {
		if cfg.Spool.Logger == nil {
			cfg.Spool.Logger = cfg.Logger
		}
		if s.sp, err = spool.Open(cfg.Spool); err != nil {
			s.w.Close()
			return nil, err
		}
		if !s.sp.Empty() {
			s.backlog.Store(true)
			log.Info("spool holds events from a previous run", "bytes", s.sp.Stats().Bytes)
		}
	}
	log.Info("kafka sink ready", "brokers", cfg.Brokers, "findings_topic", cfg.findingsTopic(),
		"inventory_topic", cfg.inventoryTopic(), "compression", orStr(cfg.Compression, "zstd"),
		"batch_size", cfg.batchSize(), "batch_timeout", cfg.batchTimeout(),
		"spool", cfg.Spool.Dir)
	go s.replay()
	return s, nil
}

// checkTopics asks the cluster for the configured topics' metadata.
func (s *Sink) checkTopics(ctx context.Context, tr *kafkago.Transport) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	topics := []string{s.cfg.findingsTopic(), s.cfg.inventoryTopic()}
	c := &kafkago.Client{Addr: kafkago.TCP(s.cfg.Brokers...), Transport: tr, Timeout: 5 * time.Second}
	md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafka: fetch metadata: %w", err)
	}
	for _, want := range topics {
		found := false
		for _, t := range md.Topics {
			if t.Name == want && t.Error == nil {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%w: %s (create it, or set the topic in the config)",
				ErrTopicMissing, want)
		}
	}
	return nil
}

// Write delivers evs to Kafka or to the spool; see the package doc. It
// returns an error only when events were lost (spool full or disabled).
func (s *Sink) Write(ctx context.Context, evs []sink.Event) error {
	if len(evs) == 0 {
		return nil
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.backlog.Load() && s.sp != nil {
		return s.spoolEvents(evs)
	}

	msgs := s.messages(evs)
	wctx, cancel := context.WithTimeout(ctx, s.cfg.writeTimeout())
	err := s.w.WriteMessages(wctx, msgs...)
	cancel()
	if err == nil {
		s.sent.Add(uint64(len(evs)))
		s.batches.Add(1)
		return nil
	}
	s.arena, s.msgs = nil, nil // kafka-go may still hold them

	// Keep only the events whose messages failed.
	failed := evs
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(evs) {
		failed = make([]sink.Event, 0, werrs.Count())
		for i, e := range werrs {
			if e != nil {
				failed = append(failed, evs[i])
			}
		}
		s.sent.Add(uint64(len(evs) - len(failed)))
	}
	s.log.Warn("kafka write, spooling", "events", len(failed), "error", err)
	if s.sp == nil {
		s.dropped.Add(uint64(len(failed)))
		return fmt.Errorf("kafka: write %d events: %w", len(failed), err)
	}
	return s.spoolEvents(failed)
}

// spoolEvents appends to the spool and marks the backlog. sendMu is held.
func (s *Sink) spoolEvents(evs []sink.Event) error {
	rec := make([]spool.Event, len(evs))
	for i, e := range evs {
		rec[i] = spool.Event{Topic: s.cfg.topicFor(e.Class), Key: e.Key, Value: e.Value}
	}
	if err := s.sp.Append(rec); err != nil {
		s.dropped.Add(uint64(len(evs)))
		return fmt.Errorf("kafka: spool %d events: %w", len(evs), err)
	}
	s.spooled.Add(uint64(len(evs)))
	s.backlog.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// messages copies evs into the arena as kafka-go messages.
func (s *Sink) messages(evs []sink.Event) []kafkago.Message {
	n := 0
	for i := range evs {
		n += len(evs[i].Key) + len(evs[i].Value)
	}
	if cap(s.arena) < n {
		s.arena = make([]byte, 0, n+n/4)
	}
	a := s.arena[:0]
	msgs := s.msgs[:0]
	for i := range evs {
		k0 := len(a)
		a = append(a, evs[i].Key...)
		v0 := len(a)
		a = append(a, evs[i].Value...)
		msgs = append(msgs, kafkago.Message{Topic: s.cfg.topicFor(evs[i].Class),
			Key: a[k0:v0:v0], Value: a[v0:len(a):len(a)]})
	}
	s.arena, s.msgs = a, msgs
	return msgs
}

// replay sends spooled batches, oldest first, whenever there is a backlog.
func (s *Sink) replay() {
	defer close(s.done)
	if s.sp == nil {
		<-s.stop
		return
	}
	t := time.NewTicker(s.cfg.retryInterval())
	defer t.Stop()
	var msgs []kafkago.Message
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-t.C:
		}
		for s.backlog.Load() {
			evs, err := s.sp.Peek()
			if errors.Is(err, spool.ErrEmpty) {
				// Recheck under sendMu so no Write slips a batch in behind.
				s.sendMu.Lock()
				if _, err := s.sp.Peek(); errors.Is(err, spool.ErrEmpty) {
					s.backlog.Store(false)
					s.log.Info("spool drained, sending directly")
				}
				s.sendMu.Unlock()
				continue
			}
			if err != nil {
				s.log.Warn("spool read", "error", err)
				break
			}
			msgs = msgs[:0]
			for _, e := range evs {
				// The spool's bytes stay valid until Ack, and Ack
				// happens only after WriteMessages returned nil.
				msgs = append(msgs, kafkago.Message{Topic: e.Topic, Key: e.Key, Value: e.Value})
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.writeTimeout())
			err = s.w.WriteMessages(ctx, msgs...)
			cancel()
			if err != nil {
				s.log.Debug("replay batch", "events", len(msgs), "error", err)
				msgs = nil // kafka-go may still reference the old slice
				select {
				case <-s.stop:
					return
				case <-time.After(s.cfg.retryInterval()):
				}
				continue
			}
			if err := s.sp.Ack(); err != nil {
				s.log.Warn("spool ack", "error", err)
				break
			}
			s.replayed.Add(uint64(len(msgs)))
			select {
			case <-s.stop:
				return
			default:
			}
		}
	}
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	st := Stats{Batches: s.batches.Load(), Sent: s.sent.Load(), Replayed: s.replayed.Load(), Spooled: s.spooled.Load(),
		Dropped: s.dropped.Load()}
	if s.sp != nil {
		st.Spool = s.sp.Stats()
	}
	return st
}

// Backlog reports whether the spool holds events not yet in Kafka.
func (s *Sink) Backlog() bool { return s.backlog.Load() }

// Close replays the spool until it is empty or ctx is done, then closes the
// writer and the spool. Whatever is still spooled stays on disk for the next
// run; Close returns ctx's error in that case.
func (s *Sink) Close(ctx context.Context) error {
	var err error
	for s.sp != nil && s.backlog.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
			s.log.Warn("closing with events still spooled", "bytes", s.sp.Stats().Bytes)
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	if werr := s.w.Close(); werr != nil && err == nil {
		err = fmt.Errorf("kafka: close writer: %w", werr)
	}
	if s.sp != nil {
		if serr := s.sp.Close(); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// isConnErr recognises the ways a dial to an absent broker fails.
func isConnErr(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// abandon stops the sink the way a crash would: no flush, no replay, no
// cursor update beyond what was already on disk. For tests.
func (s *Sink) abandon() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	if s.sp != nil {
		s.sp.Close()
	}
}
