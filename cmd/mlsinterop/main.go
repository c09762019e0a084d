//go:build interop

// Command mlsinterop is mlslab's client for the MLS working group's interop
// harness (github.com/mlswg/mls-implementations, interop/): a gRPC server of
// the MLSClient service of interop/proto/mls_client.proto, backed by
// package mls.
//
// Build with cmd/mlsinterop/gen.sh (generates the stubs, which are never
// committed, and builds bin/mlsinterop with -tags interop), then run
//
//	bin/mlsinterop --port 50051
//
// and point the harness's test-runner at it (-client 127.0.0.1:50051).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"google.golang.org/grpc"

	"github.com/mlslab/mlslab/cmd/mlsinterop/internal/pb"
)

func main() {
	port := flag.Int("port", 50051, "TCP port to listen on")
	host := flag.String("host", "127.0.0.1", "address to listen on (loopback by default)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "mlsinterop: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(os.Stderr, "mlsinterop: invalid port %d\n", *port)
		os.Exit(2)
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("mlsinterop: %v", err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recoverInterceptor),
		grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20),
	)
	pb.RegisterMLSClientServer(srv, newServer())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		srv.Stop()
	}()
	log.Printf("mlsinterop: listening on %s", lis.Addr())
	if err := srv.Serve(lis); err != nil {
		log.Fatalf("mlsinterop: %v", err)
	}
}
