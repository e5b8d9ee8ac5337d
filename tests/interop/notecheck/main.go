// Command notecheck checks vledger's signed notes against an implementation
// that is not ours: golang.org/x/mod/sumdb/note (Debian's
// golang-golang-x-mod-dev). It is built by tests/integration/
// note_interop_test.sh in GOPATH mode, offline.
//
// Usage:
//
//	notecheck VKEY_FILE NOTE_FILE
//		Verifies the note with the verifier key. Exit 0 and the note
//		text on stdout if it verifies; exit 1 and the reason on stderr
//		if it does not.
//	notecheck sign NAME TEXT_FILE VKEY_OUT NOTE_OUT
//		Generates a fresh Ed25519 key named NAME, signs the text and
//		writes the verifier key and the signed note to the two files.
//
// Exit status 2 means a usage or I/O error, never a verdict on a note.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: notecheck VKEY_FILE NOTE_FILE")
	fmt.Fprintln(os.Stderr, "       notecheck sign NAME TEXT_FILE VKEY_OUT NOTE_OUT")
	os.Exit(2)
}

func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		os.Exit(2)
	}
	return b
}

func writeFile(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		os.Exit(2)
	}
}

func verify(vkeyFile, noteFile string) {
	// A vkey file may end in a newline (echo > file); the key itself never
	// contains whitespace.
	vkey := strings.TrimSpace(string(readFile(vkeyFile)))
	msg := readFile(noteFile)

	v, err := note.NewVerifier(vkey)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck: bad verifier key:", err)
		os.Exit(1)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck: note does not verify:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(n.Text)
}

func sign(name, textFile, vkeyOut, noteOut string) {
	text := readFile(textFile)
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck: generate key:", err)
		os.Exit(2)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck: signer:", err)
		os.Exit(2)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck: sign:", err)
		os.Exit(2)
	}
	writeFile(vkeyOut, []byte(vkey+"\n"))
	writeFile(noteOut, msg)
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 5 && args[0] == "sign":
		sign(args[1], args[2], args[3], args[4])
	case len(args) == 2 && args[0] != "sign":
		verify(args[0], args[1])
	default:
		usage()
	}
}
