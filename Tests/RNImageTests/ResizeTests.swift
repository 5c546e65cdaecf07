import Testing
@testable import RNImage

/// Resize, crop, channel conversion and the pixel pipeline, against hand-computed values.
@Suite struct ResizeTests {
    @Test func areaAveragingWhenShrinking() {
        #expect(resizePixels([0, 100, 200, 250], width: 4, height: 1, channels: 1, to: 2, 1) == [50, 225])
        // 3 -> 2: pixel 0 covers source [0, 1.5): (0 + 0.5 * 90) / 1.5 = 30; pixel 1: (0.5 * 90 + 180) / 1.5 = 150.
        #expect(resizePixels([0, 90, 180], width: 3, height: 1, channels: 1, to: 2, 1) == [30, 150])
        // Both axes: 2x2 block means, per channel.
        let image: [UInt8] = [0, 10, 20, 30,
                              40, 50, 60, 70,
                              100, 100, 0, 0,
                              100, 100, 0, 0]
        #expect(resizePixels(image, width: 4, height: 4, channels: 1, to: 2, 2) == [25, 45, 100, 0])
        let rgb: [UInt8] = [0, 10, 200, 100, 30, 0]   // two RGB pixels -> one
        #expect(resizePixels(rgb, width: 2, height: 1, channels: 3, to: 1, 1) == [50, 20, 100])
    }

    @Test func bilinearWhenEnlargingAndCopyWhenEqual() {
        #expect(resizePixels([0, 100], width: 2, height: 1, channels: 1, to: 4, 1) == [0, 25, 75, 100])
        #expect(resizePixels([0, 100], width: 1, height: 2, channels: 1, to: 1, 4) == [0, 25, 75, 100])
        let same: [UInt8] = [1, 2, 3, 4, 5, 6]
        #expect(resizePixels(same, width: 3, height: 2, channels: 1, to: 3, 2) == same)
    }

    @Test func cropAndChannels() {
        let image = (0..<16).map(UInt8.init)              // 4x4 gray, row-major
        #expect(centerCrop(image, width: 4, height: 4, channels: 1, to: 2, 2) == [5, 6, 9, 10])
        // Pillow's luma for pure red, green, blue: 76, 150, 29.
        let rgb = Image(width: 3, height: 1, layout: .rgb, samples: [255, 0, 0, 0, 255, 0, 0, 0, 255])
        #expect(rgb.pixels8(channels: 1) == [76, 150, 29])
        // 16-bit gray with alpha: high byte, alpha dropped, gray repeated.
        let gray16 = Image(width: 1, height: 1, layout: .grayAlpha, depth: 16, samples: [0x12, 0x34, 0xFF, 0xFF])
        #expect(gray16.rgb8() == [0x12, 0x12, 0x12])
        #expect(gray16.pixels8(channels: 1) == [0x12])
    }

    @Test func pipelineModes() throws {
        // 8 wide, 4 tall: the shorter side is already 4, so the center 4x4 columns 2...5 remain.
        let wide = Image(width: 8, height: 4, layout: .gray, samples: (0..<32).map(UInt8.init))
        let crop = PixelPipeline(width: 4, height: 4, channels: 1, resize: .shorterSideThenCrop(shorter: 4))
        #expect(try crop.pixels(from: wide) == [2, 3, 4, 5, 10, 11, 12, 13, 18, 19, 20, 21, 26, 27, 28, 29])
        // Stretch to 4x2: each output is the mean of a 2x2 block, 16i + 2j + 4.5, rounded half up.
        let stretch = PixelPipeline(width: 4, height: 2, channels: 1)
        #expect(try stretch.pixels(from: wide) == [5, 7, 9, 11, 21, 23, 25, 27])
        // Channel order.
        let rgb = Image(width: 1, height: 1, layout: .rgb, samples: [10, 20, 30])
        #expect(try PixelPipeline(width: 1, height: 1, channels: 3, bgr: true).pixels(from: rgb) == [30, 20, 10])
        #expect(try PixelPipeline(width: 1, height: 1, channels: 3).pixels(from: rgb) == [10, 20, 30])
        // A model input that is neither gray nor RGB takes no images: an error, not a trap.
        #expect(throws: ImageError.self) { try PixelPipeline(width: 1, height: 1, channels: 4).pixels(from: rgb) }
    }

    /// The windowed resize (what shorter-side-then-crop computes) equals the whole resize
    /// cropped, on random sizes, windows and channel counts, shrinking and enlarging.
    @Test func windowedResizeEqualsResizeThenCrop() {
        var seed: UInt64 = 19
        func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int(seed >> 33) % n }
        for _ in 0..<200 {
            let (w, h, c) = (1 + next(20), 1 + next(20), [1, 3][next(2)])
            let (nw, nh) = (1 + next(30), 1 + next(30))
            let (cw, ch) = (1 + next(nw), 1 + next(nh))
            let (x, y) = (next(nw - cw + 1), next(nh - ch + 1))
            let pixels = (0..<(w * h * c)).map { _ in UInt8(next(256)) }
            let whole = resizePixels(pixels, width: w, height: h, channels: c, to: nw, nh)
            var cropped: [UInt8] = []
            for row in y..<(y + ch) { cropped += whole[((row * nw + x) * c)..<((row * nw + x + cw) * c)] }
            #expect(resizePixels(pixels, width: w, height: h, channels: c, to: nw, nh, window: (x, y, cw, ch)) == cropped,
                    "\(w)x\(h)x\(c) to \(nw)x\(nh), window \(cw)x\(ch) at \(x),\(y)")
        }
    }
}
