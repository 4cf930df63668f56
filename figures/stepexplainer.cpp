#include "stepexplainer.h"

#include <QRegularExpression>

#include <QObject>

#include <cmath>

namespace studio {

QString number(double value)
{
    if (std::isinf(value))
        return value < 0 ? QStringLiteral("−∞") : QStringLiteral("∞");
    if (std::isnan(value))
        return QStringLiteral("NaN");
    QString text = QString::number(value, 'g', 4);
    // 4.933e-09 is written as a learner writes it: 4.933×10⁻⁹.
    if (const qsizetype e = text.indexOf(QLatin1Char('e')); e >= 0) {
        static const QString superscripts = QStringLiteral("⁰¹²³⁴⁵⁶⁷⁸⁹");
        QString exponent;
        for (const QChar c : QString::number(text.mid(e + 1).toInt())) // "-09" → −9, "+10" → 10
            exponent += c == QLatin1Char('-') ? QStringLiteral("⁻") : QString(superscripts.at(c.digitValue()));
        text = text.left(e) + QStringLiteral("×10") + exponent;
    }
    if (text.startsWith(QLatin1Char('-')))
        text.replace(0, 1, QStringLiteral("−"));
    return text;
}

SoftmaxRow softmaxRow(const HeadTrace &t, int row, double temperature)
{
    SoftmaxRow parts;
    for (int c = 0; c < t.masked.cols(); ++c)
        parts.max = std::max(parts.max, double(t.masked(row, c)) / temperature);
    for (int c = 0; c < t.masked.cols(); ++c) {
        const double x = double(t.masked(row, c)) / temperature;
        parts.sum += std::isinf(x) ? 0.0 : std::exp(x - parts.max);
    }
    return parts;
}

QString factor(double value)
{
    // A negative factor in brackets: 0.5·(−0.2599), never 0.5·−0.2599.
    const QString text = number(value);
    return value < 0 ? QStringLiteral("(%1)").arg(text) : text;
}

namespace {

QString vectorText(const Eigen::Ref<const RowVector> &v, int maxItems = 12)
{
    QStringList items;
    for (Eigen::Index i = 0; i < v.size() && i < maxItems; ++i)
        items.append(number(v[i]));
    if (v.size() > maxItems)
        items.append(QObject::tr("… (%1 in all)").arg(v.size()));
    return QLatin1Char('[') + items.join(QStringLiteral(", ")) + QLatin1Char(']');
}

QString token(const AttentionResult &result, int index)
{
    return QStringLiteral("“%1”").arg(result.labels.value(index).toHtmlEscaped());
}

// A key's token: the queries' own, or (cross-attention) the source's.
QString keyToken(const AttentionResult &result, int index)
{
    return QStringLiteral("“%1”").arg(result.columnLabels().value(index).toHtmlEscaped());
}


// A residual add written out for the first components: a + b = sum (then normalised, post-LN).
QString residualTable(const QString &a, const QString &b, const QString &sum, const RowVector &x, const RowVector &y,
                      const RowVector &out, bool normalisedAfter)
{
    QString html = QStringLiteral("<table cellspacing=6><tr><th></th><th>%1</th><th>%2</th><th>%3</th></tr>").arg(a, b, sum);
    for (Eigen::Index c = 0; c < x.size() && c < 12; ++c)
        html += QStringLiteral("<tr><td>%1</td><td align=right>%2</td><td align=right>+ %3</td><td align=right>= <b>%4</b></td></tr>")
                    .arg(c).arg(number(x[c]), number(y[c]), normalisedAfter ? number(x[c] + y[c]) : number(out[c]));
    html += QStringLiteral("</table>");
    if (normalisedAfter)
        html += QObject::tr("<p>then normalised: %1 = %2</p>").arg(sum, vectorText(out));
    return html;
}

QString explainBlockStage(const AttentionResult &result, const HeadDetails &d, Stage stage, int i)
{
    QString html = stage == Stage::Prediction ? QObject::tr("<p>Token %1 (position %2), after the last layer</p>").arg(token(result, i)).arg(i)
                                              : QObject::tr("<p>Token %1 (position %2), layer %3</p>").arg(token(result, i)).arg(i).arg(d.layer);
    if (stage == Stage::Prediction) {
        if (size_t(i) >= d.positionTop.size() || d.positionTop[size_t(i)].empty())
            return html + (d.positionTop.empty() ? QObject::tr("<p>Computing the prediction…</p>")
                                                 : QObject::tr("<p>The prediction is computed for the last 64 positions.</p>"));
        html += QObject::tr("<p>After the last layer: h = %1(h″), then logits = h·W_outᵀ (one per vocabulary token), "
                            "then p = softmax(logits). Most likely after %2:</p><table cellspacing=6>")
                    .arg(d.normName, token(result, i));
        for (const auto &[label, p] : d.positionTop[size_t(i)])
            html += QStringLiteral("<tr><td>“%1”</td><td align=right><b>%2 %</b></td></tr>").arg(label.toHtmlEscaped(), number(p * 100));
        return html + QStringLiteral("</table>");
    }
    if (!d.block || i >= d.block->residualIn.rows())
        return html + QObject::tr("<p>Computing the rest of the block…</p>");
    const BlockTrace &b = *d.block;
    switch (stage) {
    case Stage::HeadsOut:
        html += QObject::tr("<p>The %1 heads' outputs side by side, %2 numbers:</p><p>[o⁰ | o¹ | …]<sub>%3</sub> = %4</p>"
                            "<p>times W_O (%2 × %5), plus b_O:</p><p>attn<sub>%3</sub> = %6</p>")
                    .arg(result.heads).arg(b.context.cols()).arg(i).arg(vectorText(b.context.row(i)))
                    .arg(b.attentionOut.cols()).arg(vectorText(b.attentionOut.row(i)));
        if (!result.hasMlp)
            html += QObject::tr("<p>Each head's rows of W_O are editable in the Weights panel (W_O), like W_Q, W_K and W_V; "
                                "the teaching model has no b_O.</p>");
        break;
    case Stage::Residual:
        html += QObject::tr("<p>The heads' result is added to the stream they read: h′ = h + attn%1</p>")
                    .arg(d.preNorm ? QString() : QObject::tr(", then %1").arg(d.normName));
        html += residualTable(QStringLiteral("h"), QStringLiteral("attn"), QStringLiteral("h′"), b.residualIn.row(i), b.attentionOut.row(i),
                              b.afterAttention.row(i), !d.preNorm);
        break;
    case Stage::Mlp: {
        html += QObject::tr("<p>%1, on this token alone%2:</p><p>x = %3</p>")
                    .arg(d.mlpFormula.toHtmlEscaped(), d.preNorm ? QObject::tr(", from x = %1(h′)").arg(d.normName) : QString(),
                         vectorText(b.mlpInput.row(i)));
        // The neurons that fire most for this token.
        std::vector<Eigen::Index> order(size_t(b.mlpHidden.cols()));
        for (size_t n = 0; n < order.size(); ++n)
            order[n] = Eigen::Index(n);
        const RowVector row = b.mlpHidden.row(i);
        const size_t top = std::min<size_t>(8, order.size());
        std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(top), order.end(),
                          [&row](Eigen::Index a, Eigen::Index c) { return row[a] > row[c]; });
        QStringList neurons;
        for (size_t n = 0; n < top; ++n)
            neurons.append(QStringLiteral("n%1 = %2").arg(order[n]).arg(number(row[order[n]])));
        html += QObject::tr("<p>Its most active of %1 neurons: %2</p><p>m<sub>%3</sub> = %4</p>")
                    .arg(b.mlpHidden.cols()).arg(neurons.join(QStringLiteral(", ")).toHtmlEscaped()).arg(i).arg(vectorText(b.mlpOut.row(i)));
        break;
    }
    case Stage::LayerOut:
        html += QObject::tr("<p>The MLP's result is added to the stream: h″ = h′ + m%1. It is %2's input.</p>")
                    .arg(d.preNorm ? QString() : QObject::tr(", then %1").arg(d.normName))
                    .arg(d.layer + 1 < result.layers ? QObject::tr("layer %1").arg(d.layer + 1) : QObject::tr("the final norm"));
        html += residualTable(QStringLiteral("h′"), QStringLiteral("m"), QStringLiteral("h″"), b.afterAttention.row(i), b.mlpOut.row(i),
                              b.residualOut.row(i), !d.preNorm);
        break;
    default:
        break;
    }
    return html;
}

} // namespace

QString writeDotProduct(const Eigen::Ref<const RowVector> &a, const Eigen::Ref<const RowVector> &b, int maxTerms)
{
    QStringList terms;
    double sum = 0;
    for (Eigen::Index i = 0; i < a.size(); ++i) {
        sum += double(a[i]) * double(b[i]);
        if (i < maxTerms)
            terms.append(QStringLiteral("(%1)·(%2)").arg(number(a[i]), number(b[i])));
    }
    if (a.size() > maxTerms)
        terms.append(QObject::tr("… %1 more terms").arg(a.size() - maxTerms));
    return terms.join(QStringLiteral(" + ")) + QStringLiteral(" = <b>") + number(sum) + QStringLiteral("</b>");
}

QStringList arithmeticSteps(const QString &html)
{
    // Split before each top-level <p> or <table>: tables hold rows and cells, never paragraphs.
    QStringList steps;
    static const QRegularExpression start(QStringLiteral("<(p|table)[ >]"));
    qsizetype from = 0;
    QRegularExpressionMatchIterator it = start.globalMatch(html);
    while (it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        if (match.capturedStart() > from)
            steps.append(html.mid(from, match.capturedStart() - from));
        from = match.capturedStart();
    }
    if (from < html.size())
        steps.append(html.mid(from));
    return steps;
}

QString explainStage(const AttentionResult &result, const HeadDetails &d, Stage stage, int query, int key, Projection projection,
                     int hiddenQuery)
{
    const HeadTrace &t = d.trace;
    const int queries = int(t.weights.rows());
    const int tokens = int(t.weights.cols()); // the keys (cross-attention: the source's tokens)
    if (queries == 0 || tokens == 0)
        return QObject::tr("<p>No tokens.</p>");
    const int i = std::clamp(query < 0 ? 0 : query, 0, queries - 1);
    if (i == hiddenQuery && (stage == Stage::Weights || stage == Stage::Output))
        return QObject::tr("<p><b>Predict first:</b> which words does %1 attend to most, and how strongly?</p>"
                           "<p>Its weights are hidden until they are revealed.</p>").arg(token(result, i));
    if (isBlockStage(stage))
        return explainBlockStage(result, d, stage, i);
    int j = key;
    if (j < 0 || j >= tokens)
        t.weights.row(i).maxCoeff(&j); // the key this query attends to most
    const int dHead = int(t.q.cols());
    QString html = QObject::tr("<p>Query %1 (position %2)%3</p>")
                       .arg(token(result, i)).arg(i)
                       .arg(stage == Stage::Embeddings || stage == Stage::Projections || stage == Stage::Output
                                ? QString() : QObject::tr(", key %1 (position %2)").arg(keyToken(result, j)).arg(j));
    if (!d.sharing.isEmpty() && (stage == Stage::Projections || stage == Stage::Rotary || stage == Stage::Output))
        html += QStringLiteral("<p>") + d.sharing.toHtmlEscaped() + QStringLiteral("</p>");
    switch (stage) {
    case Stage::Embeddings:
        if (d.embeddings.rows() > i) {
            html += QObject::tr("<p>x<sub>%1</sub> = embedding(%2) + position(%1)</p>").arg(i).arg(token(result, i));
            html += QStringLiteral("<table cellspacing=6><tr><th></th><th>embedding</th><th>position</th><th>x</th></tr>");
            for (int c = 0; c < d.input.cols() && c < 16; ++c)
                html += QStringLiteral("<tr><td>%1</td><td align=right>%2</td><td align=right>+ %3</td><td align=right>= <b>%4</b></td></tr>")
                            .arg(c).arg(number(d.embeddings(i, c)), number(d.positions(i, c)), number(d.input(i, c)));
            html += QStringLiteral("</table>");
        } else {
            html += QObject::tr("<p>X is what layer %1's attention reads: %2</p><p>x<sub>%3</sub> = %4</p>")
                        .arg(d.layer)
                        .arg(d.inputDescription)
                        .arg(i).arg(vectorText(d.input.row(i)));
            if (d.keyInput.rows() > 0)
                html += QObject::tr("<p>Cross-attention reads two inputs. The queries come from X, the decoder's tokens; "
                                    "the keys and values from E: %1</p><p>e<sub>%2</sub> (%3) = %4</p>")
                            .arg(d.keyInputDescription).arg(j).arg(keyToken(result, j)).arg(vectorText(d.keyInput.row(j)));
        }
        break;
    case Stage::Projections: {
        const Matrix &w = d.weight(projection);
        const RowVector &b = d.bias(projection);
        const Matrix &out = t.projected(projection);
        const QString name = projectionName(projection);
        // Cross-attention's k and v are the encoder output's: row j of E, a source token.
        const bool fromKeys = d.keyInput.rows() > 0 && projection != Projection::Q;
        const Matrix &in = fromKeys ? d.keyInput : d.input;
        const int row = fromKeys ? j : i;
        const QString x = fromKeys ? QStringLiteral("e") : QStringLiteral("x");
        if (fromKeys)
            html += QObject::tr("<p>%1 is computed from the encoder's output E, for the source token %2:</p>").arg(name, keyToken(result, j));
        html += QObject::tr("<p>%1<sub>%2</sub> = %5<sub>%2</sub>·W<sub>%3</sub>%4. Its first component:</p>")
                    .arg(name).arg(row).arg(name.toUpper(), b.size() ? QObject::tr(" + b<sub>%1</sub>").arg(name.toUpper()) : QString(), x);
        if (w.rows() == in.cols() && w.cols() > 0 && row < in.rows()) {
            html += QStringLiteral("<p>") + writeDotProduct(in.row(row), w.col(0).transpose()) + QStringLiteral("</p>");
            if (b.size())
                html += QObject::tr("<p>plus bias %1 = <b>%2</b></p>").arg(number(b[0]), number(out(row, 0)));
        }
        html += QObject::tr("<p>%1<sub>%2</sub> = %3</p>").arg(name).arg(row).arg(vectorText(out.row(row)));
        break;
    }
    case Stage::Rotary: {
        if (t.qPreRope.size() == 0 || d.ropeFrequencies.empty()) {
            html += QObject::tr("<p>This model has no rotary positions.</p>");
            break;
        }
        const int half = int(d.ropeFrequencies.size());
        html += QObject::tr("<p>Rotary positions: q and k are not given a position vector; instead each pair of components "
                            "(c, c + %1) is turned by an angle that grows with the token's position: position · θ<sub>c</sub>. "
                            "v is not turned.</p>").arg(half);
        html += QObject::tr("<table cellspacing=6><tr><th>pair</th><th>θ<sub>c</sub></th><th>angle at %1</th><th>angle at %2</th>"
                            "<th>q<sub>%1</sub> before</th><th>q′<sub>%1</sub> after</th></tr>").arg(i).arg(j);
        for (int c = 0; c < half && c < 8; ++c) {
            const double theta = d.ropeFrequencies[size_t(c)];
            html += QStringLiteral("<tr><td>%1</td><td align=right>%2</td><td align=right>%3</td><td align=right>%4</td>"
                                   "<td align=right>(%5, %6)</td><td align=right>(%7, %8)</td></tr>")
                        .arg(c).arg(number(theta), number(i * theta), number(j * theta))
                        .arg(number(t.qPreRope(i, c)), number(t.qPreRope(i, c + half)), number(t.q(i, c)), number(t.q(i, c + half)));
        }
        if (half > 8)
            html += QObject::tr("<tr><td colspan=6>… %1 more pairs, turning ever more slowly</td></tr>").arg(half - 8);
        html += QStringLiteral("</table>");
        html += QObject::tr("<p>The score is then q′<sub>%1</sub>·k′<sub>%2</sub> = %3: turning both by their own positions "
                            "leaves only the difference %1 − %2 = %4 in it, so the same two words score the same "
                            "wherever they stand in the text.</p>")
                    .arg(i).arg(j).arg(number(double(t.q.row(i).cast<double>().dot(t.k.row(j).cast<double>())))).arg(i - j);
        break;
    }
    case Stage::Scores:
        html += QObject::tr("<p>score = q<sub>%1</sub>·k<sub>%2</sub> =</p><p>%3</p>").arg(i).arg(j).arg(writeDotProduct(t.q.row(i), t.k.row(j)));
        if (t.qPreRope.size() > 0)
            html += QObject::tr("<p>(q and k here are after their rotation.)</p>");
        break;
    case Stage::Scaled:
        if (t.bias.rows() > i && t.bias.cols() > j) {
            html += QObject::tr("<p>T5 does not divide by √d_k. It adds a learned bias for how far key %1 is from query %2 "
                                "(j − i = %3, one of its distance buckets; the same in every layer):</p>"
                                "<p>scaled = score + bias = %4 + %5 = <b>%6</b></p>")
                        .arg(j).arg(i).arg(j - i).arg(number(t.scores(i, j)), number(t.bias(i, j)), number(t.scaled(i, j)));
            break;
        }
        html += d.scaled ? QObject::tr("<p>scaled = score / √d_k = %1 / √%2 = %1 / %3 = <b>%4</b></p>")
                               .arg(number(t.scores(i, j))).arg(dHead).arg(number(std::sqrt(double(dHead))), number(t.scaled(i, j)))
                         : QObject::tr("<p>Scaling is off: scaled = score = <b>%1</b></p>").arg(number(t.scaled(i, j)));
        break;
    case Stage::Masked:
        html += QObject::tr("<p>Mask: %1.</p>").arg(d.maskDescription);
        html += std::isinf(t.masked(i, j)) ? QObject::tr("<p>This key is hidden from this query: masked = <b>−∞</b>, so its weight will be exactly 0.</p>")
                                           : QObject::tr("<p>This key is visible: masked = scaled = <b>%1</b></p>").arg(number(t.masked(i, j)));
        break;
    case Stage::Weights: {
        const double tau = d.temperature;
        const SoftmaxRow parts = softmaxRow(t, i, tau);
        const double rowMax = parts.max;
        html += QObject::tr("<p>Softmax of row %1 at temperature τ = %2. Subtract the row's largest value (%3) first, so "
                            "no exponential overflows:</p><table cellspacing=6><tr><th>key</th><th>masked / τ</th><th>exp(· − max)</th></tr>")
                    .arg(i).arg(number(tau), number(rowMax));
        const double sum = parts.sum;
        for (int c = 0; c < tokens; ++c) {
            const double x = double(t.masked(i, c)) / tau;
            const double e = std::isinf(x) ? 0.0 : std::exp(x - rowMax);
            if (c < 24)
                html += QStringLiteral("<tr><td>%1%2</td><td align=right>%3</td><td align=right>%4</td></tr>")
                            .arg(keyToken(result, c), c == j ? QStringLiteral(" ◀") : QString(), number(x), number(e));
        }
        if (tokens > 24)
            html += QObject::tr("<tr><td colspan=3>… %1 more keys</td></tr>").arg(tokens - 24);
        html += QStringLiteral("</table>");
        if (std::isinf(rowMax))
            html += QObject::tr("<p>Every key is masked: the query attends to nothing and its weights are all 0.</p>");
        else
            html += QObject::tr("<p>Σ = %1; weight = %2 / %1 = <b>%3</b></p>")
                        .arg(number(sum), number(std::isinf(t.masked(i, j)) ? 0.0 : std::exp(double(t.masked(i, j)) / tau - rowMax)), number(t.weights(i, j)));
        break;
    }
    case Stage::Output: {
        html += QObject::tr("<p>output<sub>%1</sub> = Σ<sub>j</sub> w<sub>%1 j</sub> v<sub>j</sub>. Its first component:</p>").arg(i);
        QStringList terms;
        for (int c = 0; c < tokens && c < 16; ++c)
            terms.append(QStringLiteral("%1·%2").arg(factor(t.weights(i, c)), factor(t.v(c, 0))));
        if (tokens > 16)
            terms.append(QObject::tr("… %1 more").arg(tokens - 16));
        if (t.v.cols() > 0)
            html += QStringLiteral("<p>%1 = <b>%2</b></p>").arg(terms.join(QStringLiteral(" + ")), number(t.output(i, 0)));
        html += QObject::tr("<p>output<sub>%1</sub> = %2</p>").arg(i).arg(vectorText(t.output.row(i)));
        break;
    }
    case Stage::HeadsOut:
    case Stage::Residual:
    case Stage::Mlp:
    case Stage::LayerOut:
    case Stage::Prediction: break; // written by explainBlockStage
    }
    return html;
}

} // namespace studio
