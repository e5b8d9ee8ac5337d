// tlogcheck checks a running vledgerd's transparent log with Go's
// golang.org/x/mod/sumdb/tlog and sumdb/note (from Debian's
// golang-golang-x-mod-dev): an implementation that is not ours.
//
//	tlogcheck URL VKEY_FILE [CHECKPOINT_FILE...]
//
// It fetches /log/checkpoint and verifies its signature; reads the hash
// tiles through tlog.TileHashReader (which authenticates every tile against
// the signed root) and recomputes the root; for every entry in the entry
// bundles it checks the record's inclusion both with a proof built from the
// tiles and with the server's LogService/GetInclusionProof answer; and for
// each earlier checkpoint given (signed notes saved from receipts) it checks
// the signature and that the latest tree extends it, both with a proof from
// the tiles and with the server's GetConsistencyProof answer.
// Exit status 0 only when everything holds.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func get(path string) []byte {
	resp, err := http.Get(base + path)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v", path, resp.StatusCode, err)
	}
	return body
}

func rpc(method string, req interface{}, resp interface{}) {
	body, _ := json.Marshal(req)
	r, err := http.Post(base+"/vledger.v1.LogService/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		fail("%s: %v", method, err)
	}
	defer r.Body.Close()
	data, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		fail("%s: status %d: %s", method, r.StatusCode, data)
	}
	if err := json.Unmarshal(data, resp); err != nil {
		fail("%s: %v", method, err)
	}
}

func hashes(b64 []string) []tlog.Hash {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			fail("bad hash %q", s)
		}
		copy(out[i][:], raw)
	}
	return out
}

// openCheckpoint verifies a signed note and parses the C2SP checkpoint body.
func openCheckpoint(msg []byte, verifiers note.Verifiers) (string, tlog.Tree) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var t tlog.Tree
	t.N = size
	copy(t.Hash[:], root)
	return lines[0], t
}

// tileReader serves tlog's tile reads from the C2SP paths under /log/.
type tileReader struct{}

func (tileReader) Height() int { return 8 }

func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		// Go spells the path tile/8/L/N[.p/W]; C2SP drops the height.
		out[i] = get("/log/" + strings.Replace(t.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck URL VKEY_FILE [CHECKPOINT_FILE...]")
		os.Exit(2)
	}
	base = strings.TrimRight(os.Args[1], "/")
	vkey, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fail("vkey: %v", err)
	}
	verifiers := note.VerifierList(verifier)

	origin, tree := openCheckpoint(get("/log/checkpoint"), verifiers)
	reader := tlog.TileHashReader(tree, tileReader{})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		fail("TreeHash from tiles: %v", err)
	}
	if root != tree.Hash {
		fail("root from tiles %v != checkpoint root %v", root, tree.Hash)
	}

	records := int64(0)
	for n := int64(0); n*256 < tree.N; n++ {
		w := tree.N - n*256
		path := "/log/" + strings.Replace(tlog.Tile{H: 8, L: 0, N: n, W: 256}.Path(), "tile/8/0/", "tile/entries/", 1)
		if w < 256 {
			path = "/log/" + strings.Replace(tlog.Tile{H: 8, L: 0, N: n, W: int(w)}.Path(), "tile/8/0/", "tile/entries/", 1)
		} else {
			w = 256
		}
		bundle := get(path)
		for i := int64(0); i < w; i++ {
			if len(bundle) < 2 {
				fail("%s truncated", path)
			}
			size := int(bundle[0])<<8 | int(bundle[1])
			if len(bundle) < 2+size {
				fail("%s truncated", path)
			}
			entry := bundle[2 : 2+size]
			bundle = bundle[2+size:]
			index := n*256 + i
			leaf := tlog.RecordHash(entry)
			if !json.Valid(entry) {
				fail("entry %d is not JSON", index)
			}
			proof, err := tlog.ProveRecord(tree.N, index, reader)
			if err != nil {
				fail("ProveRecord %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf); err != nil {
				fail("record %d from tiles: %v", index, err)
			}
			var served struct{ Hashes []string }
			rpc("GetInclusionProof", map[string]string{"leafIndex": fmt.Sprint(index), "treeSize": fmt.Sprint(tree.N)}, &served)
			if err := tlog.CheckRecord(hashes(served.Hashes), tree.N, tree.Hash, index, leaf); err != nil {
				fail("record %d with the server's inclusion proof: %v", index, err)
			}
			records++
		}
		if len(bundle) != 0 {
			fail("%s has trailing bytes", path)
		}
	}
	if records != tree.N {
		fail("entry bundles hold %d records, checkpoint says %d", records, tree.N)
	}

	for _, file := range os.Args[3:] {
		msg, err := os.ReadFile(file)
		if err != nil {
			fail("%v", err)
		}
		oldOrigin, old := openCheckpoint(msg, verifiers)
		if oldOrigin != origin || old.N > tree.N {
			fail("%s: origin %q size %d does not precede %q size %d", file, oldOrigin, old.N, origin, tree.N)
		}
		proof, err := tlog.ProveTree(tree.N, old.N, reader)
		if err != nil {
			fail("ProveTree %d: %v", old.N, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
			fail("tree %d -> %d from tiles: %v", old.N, tree.N, err)
		}
		var served struct{ Hashes []string }
		rpc("GetConsistencyProof", map[string]string{"fromSize": fmt.Sprint(old.N), "toSize": fmt.Sprint(tree.N)}, &served)
		if err := tlog.CheckTree(hashes(served.Hashes), tree.N, tree.Hash, old.N, old.Hash); err != nil {
			fail("tree %d -> %d with the server's consistency proof: %v", old.N, tree.N, err)
		}
	}
	fmt.Printf("tlogcheck: ok: %s size %d: root from tiles matches; %d records included; %d earlier checkpoints consistent\n",
		origin, tree.N, records, len(os.Args)-3)
}
