// memberlist_driver: the anchor for bench/gossip_bench.py. One HashiCorp memberlist node with
// its LAN defaults on loopback, printing "<unix ms> <EVENT> <name>" lines (JOIN, DEAD, LEFT) so
// the benchmark measures it exactly as it measures weft agents. Built in GOPATH mode against
// Debian's golang-github-hashicorp-memberlist-dev; not part of weft.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

type events struct{}

func stamp() int64 { return time.Now().UnixNano() / int64(time.Millisecond) }

func (events) NotifyJoin(n *memberlist.Node) { fmt.Printf("%d JOIN %s\n", stamp(), n.Name) }
func (events) NotifyLeave(n *memberlist.Node) {
	if n.State == memberlist.StateLeft {
		fmt.Printf("%d LEFT %s\n", stamp(), n.Name)
	} else {
		fmt.Printf("%d DEAD %s\n", stamp(), n.Name)
	}
}
func (events) NotifyUpdate(n *memberlist.Node) {}

func main() {
	name := flag.String("name", "", "node name")
	port := flag.Int("port", 0, "bind port on 127.0.0.1")
	join := flag.String("join", "", "seed address ip:port")
	flag.Parse()
	conf := memberlist.DefaultLANConfig()
	conf.Name = *name
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = *port
	conf.AdvertisePort = *port
	conf.Events = events{}
	conf.LogOutput = os.Stderr
	list, err := memberlist.Create(conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *join != "" {
		if _, err := list.Join([]string{*join}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	list.Leave(2 * time.Second)
	list.Shutdown()
}
