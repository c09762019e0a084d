package suite

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

func (s *Suite) newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.nk {
		return nil, fmt.Errorf("suite: AEAD key of %d bytes, want %d", len(key), s.nk)
	}
	if s.aead == chacha {
		return chacha20poly1305.New(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal is AEAD.Seal with the suite's AEAD (RFC 9420, Section 5.1).
func (s *Suite) Seal(key, nonce, aad, plaintext []byte) ([]byte, error) {
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("suite: AEAD nonce of %d bytes, want %d", len(nonce), a.NonceSize())
	}
	return a.Seal(nil, nonce, plaintext, aad), nil
}

// Open is AEAD.Open; a failed authentication returns ErrDecrypt.
func (s *Suite) Open(key, nonce, aad, ciphertext []byte) ([]byte, error) {
	a, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, fmt.Errorf("suite: AEAD nonce of %d bytes, want %d", len(nonce), a.NonceSize())
	}
	pt, err := a.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
