import TensorCore

/// The three primitives of a 2-D convolution, as TensorFlow's Conv2D, Conv2DBackpropInput and
/// Conv2DBackpropFilter (nn_grad.py): each is bilinear, and each one's pullback is the other two over the
/// same windows, so gradients of any order stay convolutions on BLAS.
///
/// With ⟨·,·⟩ the sum of elementwise products, all three follow from one identity:
/// ⟨conv2d(x, k), dy⟩ = ⟨x, conv2d_backprop_input(k, dy)⟩ = ⟨k, conv2d_backprop_filter(x, dy)⟩.
enum Convolution {
    static func conv2d(_ g: Conv2DGeometry) -> Operation {
        Operation(name: "conv2d", arity: 2,
                  forward: { try Tensor.conv2d($0[0], $0[1], g) },
                  pullbackOfNeeded: { x, _, dy, needs in
                      [needs[0] ? try backpropInput(g)(x[1], dy) : nil, needs[1] ? try backpropFilter(g)(x[0], dy) : nil]
                  },
                  rule: { n in
                      .pullbacks(["conv2d_backprop_input(\(n[1]), g)", "conv2d_backprop_filter(\(n[0]), g)"],
                                 "every output read a window: each element of \(n[0]) gets g times the taps of \(n[1]) that read it, "
                                 + "each tap of \(n[1]) gets g times the elements it read")
                  })
    }

    /// (k, dy) → dx: the gradient of conv2d with respect to its input.
    static func backpropInput(_ g: Conv2DGeometry) -> Operation {
        Operation(name: "conv2d_backprop_input", arity: 2,
                  forward: { try Tensor.conv2dBackpropInput($0[0], $0[1], g) },
                  pullbackOfNeeded: { x, _, ddx, needs in
                      [needs[0] ? try backpropFilter(g)(ddx, x[1]) : nil, needs[1] ? try conv2d(g)(ddx, x[0]) : nil]
                  },
                  rule: { n in
                      .pullbacks(["conv2d_backprop_filter(g, \(n[1]))", "conv2d(g, \(n[0]))"],
                                 "linear in each input, as conv2d is: its gradients are the other two convolutions over the same windows")
                  })
    }

    /// (x, dy) → dk: the gradient of conv2d with respect to its filter.
    static func backpropFilter(_ g: Conv2DGeometry) -> Operation {
        Operation(name: "conv2d_backprop_filter", arity: 2,
                  forward: { try Tensor.conv2dBackpropFilter($0[0], $0[1], g) },
                  pullbackOfNeeded: { x, _, ddk, needs in
                      [needs[0] ? try backpropInput(g)(ddk, x[1]) : nil, needs[1] ? try conv2d(g)(x[0], ddk) : nil]
                  },
                  rule: { n in
                      .pullbacks(["conv2d_backprop_input(g, \(n[1]))", "conv2d(\(n[0]), g)"],
                                 "linear in each input, as conv2d is: its gradients are the other two convolutions over the same windows")
                  })
    }
}

extension Value {
    /// TensorFlow's `tf.nn.conv2d` (a cross-correlation): x [batch, height, width, in], k [kh, kw, in, out].
    public static func conv2d(_ x: Value, _ k: Value, stride: Int = 1, padding: WindowPadding = .valid, name: String = "conv2d") throws -> Value {
        let g = try Conv2DGeometry(input: x.shape, filter: k.shape, stride: stride, padding: padding, name: name)
        return try Convolution.conv2d(g)(x, k)
    }

    /// TensorFlow's Conv2DBackpropInput: the gradient of `conv2d(x, k)` with respect to an x of shape
    /// `inputShape`, for the output's cotangent dy.
    public static func conv2dBackpropInput(inputShape: [Int], _ k: Value, _ dy: Value, stride: Int = 1, padding: WindowPadding = .valid) throws -> Value {
        let g = try Conv2DGeometry(input: inputShape, filter: k.shape, stride: stride, padding: padding)
        return try Convolution.backpropInput(g)(k, dy)
    }

    /// TensorFlow's Conv2DBackpropFilter: the gradient of `conv2d(x, k)` with respect to a k of shape
    /// `filterShape`, for the output's cotangent dy.
    public static func conv2dBackpropFilter(_ x: Value, filterShape: [Int], _ dy: Value, stride: Int = 1, padding: WindowPadding = .valid) throws -> Value {
        let g = try Conv2DGeometry(input: x.shape, filter: filterShape, stride: stride, padding: padding)
        return try Convolution.backpropFilter(g)(x, dy)
    }
}

extension Value {
    /// TensorFlow's `max_pool2d` over size × size windows of x [batch, height, width, channels]: each
    /// window's largest element, its gradient to the first largest (MaxPoolGrad), whose own gradient reads
    /// at the same places (MaxPoolGradGrad).
    public static func maxPool2d(_ x: Value, size: Int, stride: Int, padding: WindowPadding) throws -> Value {
        guard x.shape.count == 4 else { throw TensorError("max_pool2d needs x of shape [batch, height, width, channels], got \(Shape.describe(x.shape))") }
        let g = try Conv2DGeometry(input: x.shape, filter: [size, size, x.shape[3], x.shape[3]], stride: stride, padding: padding,
                                   name: "max_pool2d", window: "window")
        let places = MaxPoolPlaces()
        let operation = Operation(name: "max_pool2d", arity: 1, copiesElements: true,
                                  forward: { t in
                                      let (values, indices) = try Tensor.maxPool2d(t[0], g)
                                      places.keep(indices, of: t[0])
                                      return values
                                  },
                                  pullback: { x, _, dy in
                                      let indices = try places.indices(of: x[0].tensor) ?? Tensor.maxPool2d(x[0].tensor, g).indices
                                      return [try maxPoolGrad(g, places: indices)(dy)]
                                  },
                                  rule: { n in
                                      .pullbacks(["g at the first largest element of each window of \(n[0]), 0 elsewhere"],
                                                 "the gradient goes to the first largest element of each window (TensorFlow's MaxPoolGrad: ties do not share it)")
                                  })
        return try operation(x)
    }
}

/// TensorFlow's MaxPoolGrad: dy sent to the first largest element of each window (`places`, flat indices into
/// x), zero elsewhere; its own gradient reads the same places (MaxPoolGradGrad), a gather.
func maxPoolGrad(_ g: Conv2DGeometry, places: [Int]) -> Operation {
    Operation(name: "max_pool2d_grad", arity: 1, copiesElements: g.windowsAreDisjoint,
              forward: { try Tensor.maxPool2dGrad($0[0], places: places, g) },
              pullback: { _, _, ddx in
                  [try ddx.reshaped([-1]).applying(.gather(axis: 0, indices: places, indexShape: [places.count])).reshaped(g.outputShape)]
              },
              rule: { n in
                  .pullbacks(["g read at the places of the windows' largest elements"],
                             "\(n[0]) was sent to those places, zero elsewhere: its gradient reads them back (TensorFlow's MaxPoolGradGrad)")
              })
}

/// The places of the largest elements that max_pool2d's forward found, for its pullback: found again only when
/// the pullback's input is not the tensor the forward read (`check grad` replays the forward at other inputs).
final class MaxPoolPlaces {
    // NOTE: holding the input keeps its storage alive, so no other tensor can come to have the same address,
    // and shared, so that a change to it would copy it: the same address means the same elements.
    private var input: Tensor?
    private var places: [Int] = []

    func keep(_ indices: [Int], of x: Tensor) {
        input = x
        places = indices
    }

    func indices(of x: Tensor) -> [Int]? {
        guard let input, input.count == x.count else { return nil }
        let same = input.withUnsafeBufferPointer { a in x.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        return same ? places : nil
    }
}
