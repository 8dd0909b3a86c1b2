// natsbench — the NATS JetStream side of tests/bench/peers/run.py (built offline against
// Debian's golang-github-nats-io-go-nats-dev with GOPATH=/usr/share/gocode GO111MODULE=off).
//
//	natsbench setup -url U -stream S -subject SUBJ      file-backed stream + durable pull consumer
//	natsbench pub   -url U -subject SUBJ -n N [-start K] -window W -size B [-rate R]
//	        publishes N numbered messages ("%08d " + padding to B bytes) with JetStream publish
//	        acks, at most W unacknowledged; each carries Nats-Msg-Id = its number, and a publish
//	        not acknowledged within -ack-wait (or refused: no responders while a hop is down) is
//	        sent again with the same id, so the stream's duplicate window drops a second copy.
//	        Prints one JSON line on stdout when every message is acknowledged.
//	natsbench sub   -url U -stream S -durable D -batch B
//	        fetches from the durable pull consumer and prints each message's number, one a line
//	        (flushed per batch), acknowledging each batch (AckAll) after printing; runs until killed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

func die(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "natsbench: "+f+"\n", a...)
	os.Exit(1)
}

func connect(url string) *nats.Conn {
	var nc *nats.Conn
	var err error
	for i := 0; i < 200; i++ {
		nc, err = nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
		if err == nil {
			return nc
		}
		time.Sleep(100 * time.Millisecond)
	}
	die("connect %s: %v", url, err)
	return nil
}

func main() {
	if len(os.Args) < 2 {
		die("usage: natsbench setup|pub|sub [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	url := fs.String("url", "nats://127.0.0.1:4222", "server")
	stream := fs.String("stream", "XF", "stream")
	subject := fs.String("subject", "xf.cases", "subject")
	durable := fs.String("durable", "prov", "durable consumer")
	n := fs.Int("n", 1000, "messages")
	start := fs.Int("start", 1, "first message number")
	rate := fs.Float64("rate", 0, "messages per second at most (0: as fast as the window allows)")
	window := fs.Int("window", 1000, "unacknowledged publishes at most")
	size := fs.Int("size", 1024, "message bytes")
	batch := fs.Int("batch", 500, "fetch batch")
	ackWait := fs.Duration("ack-wait", 3*time.Second, "publish ack timeout before sending again")
	fs.Parse(os.Args[2:])
	nc := connect(*url)
	defer nc.Close()

	switch os.Args[1] {
	case "setup":
		js, err := nc.JetStream()
		if err != nil {
			die("jetstream: %v", err)
		}
		_, err = js.AddStream(&nats.StreamConfig{Name: *stream, Subjects: []string{*subject},
			Storage: nats.FileStorage, Duplicates: 2 * time.Minute})
		if err != nil {
			die("add stream: %v", err)
		}
		_, err = js.AddConsumer(*stream, &nats.ConsumerConfig{Durable: *durable,
			AckPolicy: nats.AckAllPolicy, MaxAckPending: 20000})
		if err != nil {
			die("add consumer: %v", err)
		}
	case "pub":
		js, err := nc.JetStream(nats.PublishAsyncMaxPending(*window + 16))
		if err != nil {
			die("jetstream: %v", err)
		}
		pad := strings.Repeat("x", *size-9)
		type pending struct {
			seq  int
			f    nats.PubAckFuture
			sent time.Time
		}
		var q []pending
		retries, refused := 0, 0
		// after a refusal (no responders while a hop is down) pause, but at most once per
		// 100 ms however many publishes were refused meanwhile
		var lastPause time.Time
		pause := func() {
			if time.Since(lastPause) > 100*time.Millisecond {
				time.Sleep(50 * time.Millisecond)
				lastPause = time.Now()
			}
		}
		send := func(seq int) {
			m := nats.NewMsg(*subject)
			m.Data = []byte(fmt.Sprintf("%08d %s", seq, pad))
			for {
				f, err := js.PublishMsgAsync(m, nats.MsgId(fmt.Sprint(seq)))
				if err == nil {
					q = append(q, pending{seq, f, time.Now()})
					return
				}
				refused++
				pause()
			}
		}
		// settle the oldest publish: acknowledged, or sent again (refused or not acknowledged in time)
		settle := func() {
			p := q[0]
			q = q[1:]
			left := *ackWait - time.Since(p.sent)
			if left < 0 {
				left = 0
			}
			select {
			case <-p.f.Ok():
				return
			case <-p.f.Err():
				refused++
				pause()
			case <-time.After(left):
			}
			retries++
			send(p.seq)
		}
		t0 := time.Now()
		for seq := *start; seq < *start+*n; seq++ {
			for len(q) >= *window {
				settle()
			}
			if *rate > 0 {
				due := t0.Add(time.Duration(float64(seq-*start) / *rate * 1e9))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			send(seq)
		}
		for len(q) > 0 {
			settle()
		}
		t1 := time.Now()
		out, _ := json.Marshal(map[string]interface{}{"sent": *n, "retries": retries, "refused": refused,
			"t_start": float64(t0.UnixNano()) / 1e9, "t_end": float64(t1.UnixNano()) / 1e9})
		fmt.Println(string(out))
	case "sub":
		js, err := nc.JetStream()
		if err != nil {
			die("jetstream: %v", err)
		}
		sub, err := js.PullSubscribe(*subject, *durable, nats.Bind(*stream, *durable))
		if err != nil {
			die("pull subscribe: %v", err)
		}
		w := bufio.NewWriterSize(os.Stdout, 1<<16)
		for {
			msgs, err := sub.Fetch(*batch, nats.MaxWait(500*time.Millisecond))
			if err != nil && err != nats.ErrTimeout {
				time.Sleep(100 * time.Millisecond)
			}
			if len(msgs) == 0 {
				continue
			}
			for _, m := range msgs {
				if len(m.Data) >= 8 {
					w.Write(m.Data[:8])
				}
				w.WriteByte('\n')
			}
			w.Flush()
			msgs[len(msgs)-1].Ack()
		}
	default:
		die("unknown mode %s", os.Args[1])
	}
}
