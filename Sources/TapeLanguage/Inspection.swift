import Foundation
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

// The looking-inside commands: explain, graph, check, plot.
extension Session {
    func explain(_ g: TapeSyntax.Gradient) throws -> String {
        throw EvaluationError("explain is not available yet", at: g.target.span)
    }

    func graph(_ expr: Expr, file: String?) throws -> String {
        throw EvaluationError("graph is not available yet", at: expr.span)
    }

    func plot(_ exprs: [Expr], variable: Identifier, lower: Expr, upper: Expr, includeGradient: Bool) throws -> String {
        throw EvaluationError("plot is not available yet", at: variable.span)
    }

    func checkGradient(_ g: TapeSyntax.Gradient) throws -> String {
        throw EvaluationError("check is not available yet", at: g.target.span)
    }
}
