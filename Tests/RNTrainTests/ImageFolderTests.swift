import Foundation
import Testing
@testable import RNTrain

/// The trainer's image-folder loader on the bundled Fashion-MNIST PNGs, arranged into class folders.
@Suite struct ImageFolderTests {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/images/fashion-mnist").path

    /// root/<label>/<file> for the ten PNGs (file names are index_class_label.png).
    func makeFolder(split: Bool) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rn-folder-\(UUID().uuidString)").path
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.images).sorted()
        for (i, file) in files.enumerated() {
            let label = file.split(separator: "_", maxSplits: 2)[2].replacingOccurrences(of: ".png", with: "")
            let part = split ? (i % 3 == 0 ? "test/" : "train/") : ""
            let dir = "\(root)/\(part)\(label)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(Self.images)/\(file)", toPath: "\(dir)/\(file)")
        }
        return root
    }

    @Test func classFoldersHoldOutEveryTenth() throws {
        let root = try makeFolder(split: false)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Only Trouser has three images; none has ten, so the test split would be empty.
        #expect(throws: DataError.self) { try loadTrainingData(root) }
        for i in 0..<10 {      // give Trouser ten images: the tenth is held out
            try FileManager.default.copyItem(atPath: "\(root)/Trouser/02_1_Trouser.png", toPath: "\(root)/Trouser/z\(i).png")
        }
        let (train, test) = try loadTrainingData(root)
        #expect(train.classNames == ["Ankle_boot", "Coat", "Pullover", "Sandal", "Shirt", "Sneaker", "Trouser"])
        #expect(train.width == 28 && train.height == 28 && train.channels == 1)
        #expect(train.count + test.count == 20 && test.count == 1 && test.labels == [6])
    }

    @Test func trainAndTestFolders() throws {
        let root = try makeFolder(split: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (train, test) = try loadImageFolder(root)
        #expect(train.count + test.count == 10 && test.count == 4)
        #expect(train.pixels.count == train.count * 28 * 28)
        // Pixels are the PNG's: the first training image is 01_2_Pullover (class "Pullover").
        #expect(train.classNames[train.labels[0]] == "Pullover")
    }
}
