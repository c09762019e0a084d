// Package codec is the TLS presentation language of RFC 9420 over cryptobyte.
package codec
