;; ChaCha-style bit mixing: n double rounds of add/xor/rotate quarter rounds
;; over a 16-word state in memory.
(module
  (memory 1)

  ;; One quarter round on the state words at byte offsets a, b, c, d.
  (func $qr (param $a i32) (param $b i32) (param $c i32) (param $d i32)
    (local $va i32) (local $vb i32) (local $vc i32) (local $vd i32)
    (local.set $va (i32.load (local.get $a)))
    (local.set $vb (i32.load (local.get $b)))
    (local.set $vc (i32.load (local.get $c)))
    (local.set $vd (i32.load (local.get $d)))
    (local.set $va (i32.add (local.get $va) (local.get $vb)))
    (local.set $vd (i32.rotl (i32.xor (local.get $vd) (local.get $va)) (i32.const 16)))
    (local.set $vc (i32.add (local.get $vc) (local.get $vd)))
    (local.set $vb (i32.rotl (i32.xor (local.get $vb) (local.get $vc)) (i32.const 12)))
    (local.set $va (i32.add (local.get $va) (local.get $vb)))
    (local.set $vd (i32.rotl (i32.xor (local.get $vd) (local.get $va)) (i32.const 8)))
    (local.set $vc (i32.add (local.get $vc) (local.get $vd)))
    (local.set $vb (i32.rotl (i32.xor (local.get $vb) (local.get $vc)) (i32.const 7)))
    (i32.store (local.get $a) (local.get $va))
    (i32.store (local.get $b) (local.get $vb))
    (i32.store (local.get $c) (local.get $vc))
    (i32.store (local.get $d) (local.get $vd)))

  (func (export "mix") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    ;; state[i] = i * 0x9E3779B9 + 1
    (loop $init
      (i32.store (local.get $i)
        (i32.add (i32.mul (local.get $i) (i32.const 0x9E3779B9)) (i32.const 1)))
      (br_if $init
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 64))))

    (local.set $i (i32.const 0))
    (loop $rounds
      ;; columns
      (call $qr (i32.const 0) (i32.const 16) (i32.const 32) (i32.const 48))
      (call $qr (i32.const 4) (i32.const 20) (i32.const 36) (i32.const 52))
      (call $qr (i32.const 8) (i32.const 24) (i32.const 40) (i32.const 56))
      (call $qr (i32.const 12) (i32.const 28) (i32.const 44) (i32.const 60))
      ;; diagonals
      (call $qr (i32.const 0) (i32.const 20) (i32.const 40) (i32.const 60))
      (call $qr (i32.const 4) (i32.const 24) (i32.const 44) (i32.const 48))
      (call $qr (i32.const 8) (i32.const 28) (i32.const 32) (i32.const 52))
      (call $qr (i32.const 12) (i32.const 16) (i32.const 36) (i32.const 56))
      (br_if $rounds
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))

    (local.set $i (i32.const 0))
    (loop $fold
      (local.set $acc
        (i64.add (i64.mul (local.get $acc) (i64.const 31))
                 (i64.extend_i32_u (i32.load (local.get $i)))))
      (br_if $fold
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 64))))
    (local.get $acc)))
