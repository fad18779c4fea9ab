// Package serve runs a Pulumi plugin gRPC server the way the engine expects:
// parse the flags the engine passes, listen on a free port, print the port
// on stdout, and stop when the engine goes away.
package serve

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"google.golang.org/grpc"
)

// Main parses the engine's flags and serves until the engine stops or
// interrupts. register receives the engine address (empty when attached).
func Main(register func(srv *grpc.Server, engineAddr string) error) {
	// The engine may pass these flags to every plugin; some dependencies
	// (glog) already define the logging ones.
	for _, name := range []string{"logtostderr", "v", "tracing"} {
		if flag.Lookup(name) == nil {
			flag.String(name, "", "set by the engine")
		}
	}
	flag.Parse()
	logToStderr, _ := strconv.ParseBool(flag.Lookup("logtostderr").Value.String())
	verbose, _ := strconv.Atoi(flag.Lookup("v").Value.String())
	logging.InitLogging(logToStderr, verbose, false)

	var engineAddr string
	if flag.NArg() > 0 {
		engineAddr = flag.Arg(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if engineAddr != "" {
		// Exit when the engine dies instead of lingering as an orphan.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		if err := rpcutil.Healthcheck(ctx, engineAddr, 5*time.Minute, cancel); err != nil {
			fail(err)
		}
	}
	cancelCh := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelCh)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelCh,
		Init:   func(srv *grpc.Server) error { return register(srv, engineAddr) },
	})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
	os.Exit(1)
}
