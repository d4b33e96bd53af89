/// A grid of character cells to draw dots and lines on, for plots in the terminal.
///
/// With `unicode`, each cell is a braille character holding 2×4 dots, so the canvas has
/// `2 * width` × `4 * height` dots; without, each cell is one dot drawn as `*` (the ASCII fallback).
/// Coordinates are in dots, `x` to the right and `y` downwards from the top-left corner; dots
/// outside the canvas are ignored. A dot drawn with a `marker` fills its whole cell with that character
/// instead, which is how several series stay distinguishable; a marker wins over braille dots.
public struct BrailleCanvas: Sendable {
    /// Width and height in character cells.
    public let width: Int
    public let height: Int
    public let unicode: Bool
    private var dots: [UInt8]
    private var markers: [Character?]

    public init(width: Int, height: Int, unicode: Bool = true) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.unicode = unicode
        dots = [UInt8](repeating: 0, count: self.width * self.height)
        markers = [Character?](repeating: nil, count: self.width * self.height)
    }

    /// Width and height in dots.
    public var dotWidth: Int { unicode ? width * 2 : width }
    public var dotHeight: Int { unicode ? height * 4 : height }

    /// Sets one dot, or with `marker` puts that character in the dot's cell.
    public mutating func set(x: Int, y: Int, marker: Character? = nil) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        let (cellX, cellY) = unicode ? (x / 2, y / 4) : (x, y)
        let cell = cellY * width + cellX
        if let marker {
            markers[cell] = marker
        } else if unicode {
            dots[cell] |= BrailleCanvas.dotBits[x % 2][y % 4]
        } else {
            dots[cell] = 1
        }
    }

    /// A straight line of dots between two points, both included (Bresenham).
    public mutating func line(from start: (x: Int, y: Int), to end: (x: Int, y: Int), marker: Character? = nil) {
        var x = start.x, y = start.y
        let dx = abs(end.x - start.x), dy = -abs(end.y - start.y)
        let stepX = start.x < end.x ? 1 : -1, stepY = start.y < end.y ? 1 : -1
        var error = dx + dy
        while true {
            set(x: x, y: y, marker: marker)
            if x == end.x && y == end.y { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += stepX }
            if doubled <= dx { error += dx; y += stepY }
        }
    }

    /// A polyline through `points` in order; one point alone is drawn as a dot.
    public mutating func plot(points: [(x: Int, y: Int)], marker: Character? = nil) {
        guard let first = points.first else { return }
        set(x: first.x, y: first.y, marker: marker)
        for (a, b) in zip(points, points.dropFirst()) { line(from: a, to: b, marker: marker) }
    }

    /// The canvas as lines of exactly `width` characters; empty cells are spaces.
    public func rows() -> [String] {
        (0..<height).map { row in
            String((0..<width).map { column -> Character in
                let cell = row * width + column
                if let marker = markers[cell] { return marker }
                if dots[cell] == 0 { return " " }
                if !unicode { return "*" }
                return Character(Unicode.Scalar(0x2800 + UInt32(dots[cell]))!)
            })
        }
    }

    /// The canvas as text, one line per row.
    public func render() -> String { rows().joined(separator: "\n") }

    /// The braille bit of the dot at `[x][y]` within a cell (Unicode's dot numbering 1-8).
    private static let dotBits: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
}
