;; Interleaved RGB bytes → three float32 planes, byte × scale − offset per channel: the layout and
;; the normalisation of an image tensor, 16 pixels a step in WebAssembly SIMD. The only loop of
;; imageToTensor that is not sharp's native code; in JavaScript it took 0.35–0.4 ms of CPU a 224²
;; image here, about 2% of a served request. Assembled into planes-wasm.ts (npm run wasm).
(module
  ;; 4 pages: one call's 16,384 pixels in (48 KiB) and out (192 KiB), see planes.ts.
  (memory (export "memory") 4)

  ;; $n pixels (a multiple of 16) from $src; plane c is written at $dst + 4 × $stride × c.
  (func (export "planes") (param $n i32) (param $stride i32) (param $src i32) (param $dst i32)
        (param $s0 f32) (param $s1 f32) (param $s2 f32) (param $o0 f32) (param $o1 f32) (param $o2 f32)
    (local $a v128) (local $b v128) (local $c v128) (local $end i32) (local $plane i32)
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $n) (i32.const 3))))
    (local.set $plane (i32.shl (local.get $stride) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; 16 pixels are 48 bytes: R of pixel k at byte 3k, G at 3k + 1, B at 3k + 2. Each channel's
        ;; first 10 or 11 bytes are gathered from $a and $b (lanes 0–31), the rest from $c (16–31).
        (local.set $a (v128.load offset=0 (local.get $src)))
        (local.set $b (v128.load offset=16 (local.get $src)))
        (local.set $c (v128.load offset=32 (local.get $src)))
        (call $store (local.get $dst)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 17 20 23 26 29
            (i8x16.shuffle 0 3 6 9 12 15 18 21 24 27 30 0 0 0 0 0 (local.get $a) (local.get $b))
            (local.get $c))
          (local.get $s0) (local.get $o0))
        (call $store (i32.add (local.get $dst) (local.get $plane))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 18 21 24 27 30
            (i8x16.shuffle 1 4 7 10 13 16 19 22 25 28 31 0 0 0 0 0 (local.get $a) (local.get $b))
            (local.get $c))
          (local.get $s1) (local.get $o1))
        (call $store (i32.add (local.get $dst) (i32.shl (local.get $plane) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 16 19 22 25 28 31
            (i8x16.shuffle 2 5 8 11 14 17 20 23 26 29 0 0 0 0 0 0 (local.get $a) (local.get $b))
            (local.get $c))
          (local.get $s2) (local.get $o2))
        (local.set $src (i32.add (local.get $src) (i32.const 48)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (br $next))))

  ;; 16 bytes → 16 floats, byte × $s − $o, at $at.
  (func $store (param $at i32) (param $v v128) (param $s f32) (param $o f32)
    (local $lo v128) (local $hi v128) (local $sv v128) (local $ov v128)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $ov (f32x4.splat (local.get $o)))
    (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
    (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
    (v128.store offset=0 (local.get $at)
      (f32x4.sub (f32x4.mul (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $lo))) (local.get $sv)) (local.get $ov)))
    (v128.store offset=16 (local.get $at)
      (f32x4.sub (f32x4.mul (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $lo))) (local.get $sv)) (local.get $ov)))
    (v128.store offset=32 (local.get $at)
      (f32x4.sub (f32x4.mul (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $hi))) (local.get $sv)) (local.get $ov)))
    (v128.store offset=48 (local.get $at)
      (f32x4.sub (f32x4.mul (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $hi))) (local.get $sv)) (local.get $ov)))))
