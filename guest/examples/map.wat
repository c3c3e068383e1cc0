;; map.wat - open a region, map it read-only and read a value, in plain WAT.
;;
;; `run` opens the host's region "answer" as "host/answer" (region names
;; are scoped by their owner: the "answer" that share.wat shares as
;; instance OWNER is "OWNER/answer"), granted to this instance, "reader",
;; maps it read-only with addr = -1 (grow memory and map at its old end),
;; and returns the i32 at the start of the mapping: 42 with share.wat's
;; contents. On failure it returns the negative error instead
;; (-44 ENOENT, -2 EACCES, ...). `_start` calls `run` and traps unless it
;; read 42, for use as an entry point.
;;
;; Run it: waven run --invoke run map.wat   (in a platform, as "reader")
(module
  ;; open(name_ptr, name_len) -> handle
  (import "waven" "open" (func $open (param i32 i32) (result i32)))
  ;; map(handle, addr, rights) -> address
  (import "waven" "map" (func $map (param i32 i32 i32) (result i32)))
  ;; close(handle) -> i32
  (import "waven" "close" (func $close (param i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 0x100) "host/answer") ;; region name, 11 bytes

  (func $run (export "run") (result i32)
    (local $h i32)
    (local $addr i32)
    ;; handle = open("host/answer")
    (local.set $h (call $open (i32.const 0x100) (i32.const 11)))
    (if (i32.lt_s (local.get $h) (i32.const 0))
      (then (return (local.get $h))))
    ;; addr = map(handle, -1, R): memory grows, the region appears at the old end
    (local.set $addr (call $map (local.get $h) (i32.const -1) (i32.const 1)))
    ;; errors are -4095..-1; a page-aligned address never is
    (if (i32.ge_u (local.get $addr) (i32.const -4095))
      (then (return (local.get $addr))))
    ;; the mapping stays after close
    (drop (call $close (local.get $h)))
    ;; read the shared value (a store here would trap: the page is R)
    (i32.load (local.get $addr)))

  (func (export "_start")
    (if (i32.ne (call $run) (i32.const 42))
      (then unreachable))))
