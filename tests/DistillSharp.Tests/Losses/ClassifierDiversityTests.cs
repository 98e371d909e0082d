using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// The Classifier Diversification loss against orthogonal classifiers (zero), a hand computation, and the closed form
/// of its gradient (so it is not detached); the branches' disagreement against counting by hand.
/// </summary>
public sealed class ClassifierDiversityTests
{
    // Three 2 x 2 classifiers. By hand: W1 W2ᵀ = [[1, 3], [0, 1]] (‖·‖_F = √11), W1 W3ᵀ = [[2, 2], [1, 0]] (3),
    // W2 W3ᵀ = [[0, 2], [1, 2]] (3): L_CD = √11 + 6.
    private static readonly float[][] W = [[1, 2, 0, 1], [1, 0, 1, 1], [0, 1, 2, 0]];

    private static Tensor[] Weights(bool grad) => W.Select(w => tensor(w).reshape(2, 2).requires_grad_(grad)).ToArray();

    [Fact]
    public void IsZeroForClassifiersWithMutuallyOrthogonalRowSpaces()
    {
        // Rows of W1 in span(e1, e2), of W2 in span(e3, e4), of W3 along e5 (d = 6, two classes each).
        using var scope = NewDisposeScope();
        var w1 = tensor(new float[] { 1, 2, 0, 0, 0, 0, -3, 1, 0, 0, 0, 0 }).reshape(2, 6).requires_grad_(true);
        var w2 = tensor(new float[] { 0, 0, 5, 1, 0, 0, 0, 0, 2, -2, 0, 0 }).reshape(2, 6).requires_grad_(true);
        var w3 = tensor(new float[] { 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, -1, 0 }).reshape(2, 6).requires_grad_(true);
        var loss = ClassifierDiversity.Loss([w1, w2, w3]);
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        foreach (var w in new[] { w1, w2, w3 })
        {
            Assert.NotNull(w.grad);
            Assert.Equal(0f, w.grad!.abs().max().item<float>());   // a pair already orthogonal pulls on nothing (no NaN)
        }
        // One classifier alone has no pair.
        Assert.Equal(0f, ClassifierDiversity.Loss([w1]).item<float>());
    }

    [Fact]
    public void EqualsTheHandComputation()
    {
        using var scope = NewDisposeScope();
        var loss = ClassifierDiversity.Loss(Weights(false));
        Assert.Equal(Math.Sqrt(11) + 6, loss.item<float>(), 1e-5);
        // Two of them: the one pair's norm.
        Assert.Equal(Math.Sqrt(11), ClassifierDiversity.Loss(Weights(false)[..2]).item<float>(), 1e-5);
    }

    [Fact]
    public void ItsGradientReachesEveryClassifierAsTheClosedFormSays()
    {
        // ∂L/∂W_i = Σ_{j≠i} (W_i W_jᵀ) W_j / ‖W_i W_jᵀ‖_F, computed in double from the same numbers.
        using var scope = NewDisposeScope();
        var weights = Weights(true);
        ClassifierDiversity.Loss(weights).backward();
        var m = W.Select(w => tensor(w.Select(v => (double)v).ToArray()).reshape(2, 2)).ToArray();
        for (int i = 0; i < 3; i++)
        {
            var expected = zeros(2, 2, dtype: float64);
            for (int j = 0; j < 3; j++)
            {
                if (j == i) continue;
                var product = m[i].matmul(m[j].t());
                expected += product.matmul(m[j]) / product.pow(2).sum().sqrt();
            }
            Assert.NotNull(weights[i].grad);
            var actual = weights[i].grad!.to(float64);
            Assert.True((actual - expected).abs().max().item<double>() < 1e-5, $"W{i + 1}: {actual.str()} vs {expected.str()}");
        }
    }

    [Fact]
    public void RefusesClassifiersOfDifferentShapes()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<DistillSharpException>(() => ClassifierDiversity.Loss([zeros(2, 3), zeros(2, 4)]));
        Assert.Contains("one shape", e.Message);
    }

    [Fact]
    public void DisagreementCountsThePairsOfBranchesThatPredictDifferentClasses()
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(11);
        const int m = 4, b = 64, classes = 3;
        var logits = Enumerable.Range(0, m).Select(_ => randn(new long[] { b, classes }, generator: gen)).ToArray();
        var d = ClassifierDiversity.Disagreement(logits).data<float>().ToArray();
        var top = logits.Select(z => z.argmax(1).data<long>().ToArray()).ToArray();
        Assert.Equal(b, d.Length);
        for (int row = 0; row < b; row++)
        {
            int differ = 0, pairs = 0;
            for (int i = 0; i < m; i++)
            {
                for (int j = i + 1; j < m; j++)
                {
                    pairs++;
                    if (top[i][row] != top[j][row]) differ++;
                }
            }
            Assert.Equal((double)differ / pairs, d[row], 1e-6);
        }
        // All branches alike: no disagreement; two branches that always differ: 1.
        Assert.Equal(0f, ClassifierDiversity.Disagreement([logits[0], logits[0].clone()]).max().item<float>());
        Assert.Equal(1f, ClassifierDiversity.Disagreement([logits[0], -logits[0]]).min().item<float>());
    }
}
