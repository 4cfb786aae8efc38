// Package notify delivers alerts to notification destinations — webhooks
// (HMAC-signed), Slack incoming webhooks, Amazon SNS, email over SMTP —
// through a Dispatcher that never makes the pipeline wait for them.
//
// # Dispatcher
//
// Each destination has its own queue: a bounded in-memory list of pending
// alerts backed by append-only segment files of JSON lines in
// Config.Dir/<destination name>/ and an acknowledged offset (the `ack`
// file, the sequence number of the last alert that is done with). A
// destination's worker sends its queue's alerts one at a time, in order,
// and acknowledges each once it is delivered (or failed permanently); on
// restart, every alert after the acknowledged offset is sent again. The
// delivery is therefore at-least-once: an alert sent just before a crash,
// and not yet acknowledged, is sent a second time. Receivers deduplicate by
// the alert id (the webhook's X-Vigil-Alert-Id header, the email's
// Message-ID).
//
// Enqueue never blocks: it appends to each queue (a write to the page
// cache, plus an fsync when Config.Fsync is set) and returns. When a queue
// is full (Config.MaxQueue alerts waiting, because a destination has been
// failing for a long time) the oldest waiting alert is dropped, counted in
// Stats.Dropped and logged (at most once per 10 seconds per destination).
// Dropping the oldest rather than the newest keeps what an operator needs
// now — the current attack — when a destination comes back; the dropped
// alerts stay in the alerts index, where the console shows them.
//
// A destination's failure never holds up another: each has its own worker
// goroutine, retry schedule (exponential backoff with jitter, honouring a
// server's Retry-After) and rate limit (a token bucket on the wall clock,
// DestinationConfig.RatePerMinute and Burst). Transient errors (network
// errors, timeouts, HTTP 408, 425, 429 and 5xx) are retried without limit
// until the alert is delivered or dropped; permanent ones (other HTTP 4xx,
// invalid alerts, a Destination returning an error wrapped by Permanent)
// are logged and the alert is acknowledged as failed.
//
// # Lifecycle
//
// New opens the queues (and reads what a previous run left). Run(ctx)
// starts one worker per destination in an errgroup and returns when ctx
// is cancelled or Close has drained the queues. Close(ctx) stops accepting
// alerts, lets the workers empty their queues until ctx's deadline, then
// stops them (an alert being sent is abandoned and stays queued) and
// closes the files. Enqueue may be called from any goroutine.
//
// # Secrets
//
// Secrets in configurations (webhook signing keys, Slack webhook URLs,
// SMTP passwords) have the type Secret, which prints, logs and encodes as
// "[redacted]"; configuration errors never quote them.
package notify
