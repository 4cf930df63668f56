#include "aggregation.h"
#include "arcfigure.h"
#include "colormap.h"
#include "embedding.h"
#include "figurefile.h"
#include "figures.h"
#include "gridfigure.h"
#include "heatmapfigure.h"
#include "heatmaplayout.h"
#include "figurekind.h"
#include "figuresource.h"
#include "handout.h"
#include "rotationfigure.h"
#include "stepexplainer.h"
#include "testsupport.h"
#include "pngencoder.h"
#include "predictionfigure.h"
#include "presenterfit.h"
#include "wording.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QSet>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <numbers>
#include <QXmlStreamReader>

#include <cmath>
#include <limits>

using namespace studio;

namespace {

// The teaching model's default heads run on a sentence: everything a figure is built from.
struct TeachingRun {
    TeachingConfig config;
    std::vector<HeadWeights> heads = defaultHeads(config);
    QString sentence;
    Workspace workspace;
    TeachingTrace trace;
    AttentionResult result;
    HeadDetails details; // head 0
    FigureContext context;

    explicit TeachingRun(const QString &text, const AttentionSettings &settings = {})
        : sentence(text), workspace(defaultWorkspace(text))
    {
        workspace.settings = settings;
        trace = traceTeachingModel(sentence, config, heads, settings);
        result = teachingResult(trace, workspace);
        details = teachingDetails(workspace, trace, 0);
        context = FigureContext{sentence, teachingModelDescription(config), 0, 0, heads[0].name, {}, -1, false, {}};
    }
};

} // namespace

class TestFigures : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pngKeepsEveryPixelAndTheResolution();
    void translationFiguresAndHandoutScenes();
    void everyLayerLabelIsBlack();
    void predictionBarsAreTheirProbabilities();
    void countsAgreeWithTheirNouns();
    void presenterFontIsTheLargestThatFits();
    void headViewHasALegendAndAWholeCaption();
    void arithmeticIsWrittenAsALearnerWritesIt();
    void stageFigureNamesItsMatrixAndOutlinesTheKey();
    void maskedWeightsAreHatchedNotZeros();
    void hiddenQueryShowsNoWeightAnywhere();
    void stepThroughMatrixFillsAWidePane();
    void selectedRowKeepsItsLabelWhenLabelsThinOut();
    void vectorCellsOverlapSoNoSeamsShow();
    void arithmeticComesInSteps();
    void captionNeverWidensAFigure();
    void modelViewShowsTheRolloutOfEachLayer();
    void axesAreTitledAndStagesNumberedAsTheWindowNumbersThem();
    void handoutPagesCarryFormulaAndArithmetic();
    void handoutPdfReadsBack();
    void gridThumbnailsAreSharpInVectorExports();
    void pdfImagesAreLossless();
    void groupedHeadsAndAttentionSinksInTheModelView();
    void pairRotationGeometryKeepsTheLength();
    void missingBodyImageIsSaidNotCrashedOn();
    void captionsShowInvisibleCharacters();
    void colorMapEndpoints();
    void weightsOnTheDivergingMapStartWhiteAtZero();
    void colorMapClampsAndFlagsNaN();
    void colorScaleFitting();
    void layoutCellsAreSquareAndTile();
    void layoutHitTesting();
    void bodyImageUsesLookupTable();
    void thumbnailsKeepThinPatterns();
    void formatCellValues();
    void paintedFigureShowsCells();
    void exportsOpen_data();
    void exportsOpen();
};

void TestFigures::colorMapEndpoints()
{
    QCOMPARE(ColorMap(ColorMapKind::Viridis).color(0.0), QRgb(0xFF440154));
    QCOMPARE(ColorMap(ColorMapKind::Viridis).color(1.0), QRgb(0xFFFDE725));
    QCOMPARE(ColorMap(ColorMapKind::Viridis).color(0.5), QRgb(0xFF26828E)); // middle anchor
    QCOMPARE(ColorMap(ColorMapKind::Cividis).color(0.0), QRgb(0xFF00224E));
    QCOMPARE(ColorMap(ColorMapKind::Grayscale).color(0.0), QRgb(0xFFFFFFFF));
    QCOMPARE(ColorMap(ColorMapKind::Grayscale).color(1.0), QRgb(0xFF000000));
    // Zero sits at the white middle anchor of the diverging map; 256 entries have no exact middle,
    // so it is the entry one step from it (one level per channel at most).
    const QRgb zero = ColorMap(ColorMapKind::Diverging).color(0.5);
    QVERIFY(std::abs(qRed(zero) - 0xF7) <= 1 && std::abs(qGreen(zero) - 0xF7) <= 1 && std::abs(qBlue(zero) - 0xF7) <= 1);
    // Perceptual maps get lighter monotonically, so more attention always reads as brighter.
    for (ColorMapKind kind : {ColorMapKind::Viridis, ColorMapKind::Cividis}) {
        const ColorMap map(kind);
        for (int i = 1; i < 256; ++i)
            QVERIFY(luma(map.table()[size_t(i)]) >= luma(map.table()[size_t(i - 1)]) - 0.004);
    }
}

void TestFigures::colorMapClampsAndFlagsNaN()
{
    const ColorMap map(ColorMapKind::Viridis);
    QCOMPARE(map.color(-3.0), map.color(0.0));
    QCOMPARE(map.color(7.0), map.color(1.0));
    QCOMPARE(map.color(std::nan("")), ColorMap::kInvalid);
    for (ColorMapKind kind : allColorMaps()) {
        const std::optional<ColorMapKind> parsed = colorMapFromName(colorMapName(kind));
        QVERIFY(parsed.has_value());
        QCOMPARE(*parsed, kind);
        // One rule for every view: weights take the preference (the diverging map's positive half
        // for the diverging map); signed values take it too unless it is the default, which gives
        // way to the diverging map.
        QCOMPARE(colorMapFor(ValueKind::Weights, kind), kind == ColorMapKind::Diverging ? ColorMapKind::DivergingPositive : kind);
        QCOMPARE(colorMapFor(ValueKind::Signed, kind), kind == ColorMapKind::Viridis ? ColorMapKind::Diverging : kind);
    }
    for (Stage stage : kStages)
        QCOMPARE(stageFromName(stageName(stage)), std::optional<Stage>(stage));
    for (FigureKind kind : kFigureKinds)
        QCOMPARE(figureKindFromName(figureKindName(kind)), std::optional<FigureKind>(kind));
    QCOMPARE(figureKindNames(), (QStringList{QStringLiteral("heatmap"), QStringLiteral("arcs"), QStringLiteral("grid"), QStringLiteral("steps"), QStringLiteral("comparison")}));
    QVERIFY(!stageFromName(QStringLiteral("attention")).has_value());
}

void TestFigures::colorScaleFitting()
{
    const ColorScale centred = ColorScale::fitted(-2.0, 5.0, true);
    QCOMPARE(centred.minimum, -5.0);
    QCOMPARE(centred.maximum, 5.0);
    QCOMPARE(centred.normalised(0.0), 0.5);
    const ColorScale plain = ColorScale::fitted(-2.0, 6.0, false);
    QCOMPARE(plain.normalised(-2.0), 0.0);
    QCOMPARE(plain.normalised(2.0), 0.5);
    // Degenerate ranges stay usable: no division by zero.
    QVERIFY(std::isfinite(ColorScale::fitted(3.0, 3.0, false).normalised(3.0)));
    QVERIFY(std::isfinite(ColorScale::fitted(0.0, 0.0, true).normalised(0.0)));
    QVERIFY(std::isfinite(ColorScale::fitted(INFINITY, -INFINITY, false).normalised(1.0)));
}

void TestFigures::layoutCellsAreSquareAndTile()
{
    HeatmapLayout::Margins margins;
    margins.rowLabels = 50;
    margins.colLabels = 40;
    margins.colorBar = 60;
    margins.caption = 20;
    margins.padding = 5;
    // Width 50+60+15 of margins leaves 375; height 40+20+15 leaves 325: the body is 325 square.
    const HeatmapLayout layout(5, 5, QRectF(0, 0, 500, 400), margins);
    QCOMPARE(layout.cellSize(), 65.0);
    QCOMPARE(layout.body(), QRectF(55, 45, 325, 325));
    QCOMPARE(layout.cellRect(0, 0), QRectF(55, 45, 65, 65));
    QCOMPARE(layout.cellRect(2, 3), QRectF(55 + 3 * 65, 45 + 2 * 65, 65, 65));
    QCOMPARE(layout.cellRect(4, 4).bottomRight(), layout.body().bottomRight());
    QCOMPARE(layout.colorBarRect().left(), layout.body().right() + 5);
    QCOMPARE(layout.captionRect().top(), layout.body().bottom() + 5);
    // No room: empty body, no crash.
    const HeatmapLayout tiny(5, 5, QRectF(0, 0, 10, 10), margins);
    QCOMPARE(tiny.cellSize(), 0.0);
    QVERIFY(!tiny.cellAt(QPointF(5, 5)));
    // A non-square matrix (T × d_model) keeps square cells sized by the tighter direction.
    const HeatmapLayout wide(2, 10, QRectF(0, 0, 500, 400), margins);
    QCOMPARE(wide.cellSize(), 37.5); // 375 / 10 columns
    QCOMPARE(wide.body(), QRectF(55, 45, 375, 75));
    QCOMPARE(wide.cellAt(QPointF(55 + 37.5 * 9 + 1, 45 + 40)), HeatmapCell({1, 9}));
}

void TestFigures::layoutHitTesting()
{
    HeatmapLayout::Margins margins;
    margins.rowLabels = 0;
    margins.colLabels = 0;
    margins.colorBar = 0;
    margins.padding = 0;
    const HeatmapLayout layout(4, 4, QRectF(0, 0, 400, 400), margins);
    QCOMPARE(layout.cellAt(QPointF(0, 0)), HeatmapCell({0, 0}));
    QCOMPARE(layout.cellAt(QPointF(150, 399.9)), HeatmapCell({3, 1}));
    QCOMPARE(layout.cellAt(QPointF(399.99, 0)), HeatmapCell({0, 3}));
    QVERIFY(!layout.cellAt(QPointF(-1, 10)));
    QVERIFY(!layout.cellAt(QPointF(10, 401)));
    QVERIFY(!HeatmapLayout(0, 0, QRectF(0, 0, 400, 400), margins).cellAt(QPointF(10, 10)));
}

void TestFigures::bodyImageUsesLookupTable()
{
    HeatmapFigure figure;
    Matrix values(2, 2);
    values << 0.0f, 1.0f, -std::numeric_limits<float>::infinity(), 0.5f;
    figure.setValues(values);
    figure.scale = {0.0, 1.0};
    const QImage image = heatmapBodyImage(figure);
    const ColorMap map(ColorMapKind::Viridis);
    QCOMPARE(image.size(), QSize(2, 2));
    QCOMPARE(image.pixel(0, 0), map.color(0.0));
    QCOMPARE(image.pixel(1, 0), map.color(1.0));
    QCOMPARE(image.pixel(1, 1), map.color(0.5));
    QCOMPARE(image.pixel(0, 1), QRgb(0xFFD9D9D9)); // masked
}

void TestFigures::thumbnailsKeepThinPatterns()
{
    Matrix diagonal = Matrix::Zero(300, 300);
    for (int i = 0; i < 300; ++i)
        diagonal(i, i) = 1.0f;
    const Matrix small = thumbnailValues(diagonal, 128); // blocks of 3 → 100 × 100
    QCOMPARE(small.rows(), 100);
    QCOMPARE(small.cols(), 100);
    for (int i = 0; i < 100; ++i) {
        QCOMPARE(small(i, i), 1.0f);
        if (i > 0)
            QCOMPARE(small(i, i - 1), 0.0f);
    }
    QCOMPARE(thumbnailValues(Matrix::Ones(7, 7), 128), Matrix(Matrix::Ones(7, 7)));
}

void TestFigures::formatCellValues()
{
    QCOMPARE(formatCellValue(0.4213), QStringLiteral("0.42"));
    QCOMPARE(formatCellValue(-3.14159), QStringLiteral("−3.14"));
    QCOMPARE(formatCellValue(12.345), QStringLiteral("12.3"));
    QCOMPARE(formatCellValue(0.0), QStringLiteral("0.00"));
    QCOMPARE(formatCellValue(1e-5), QStringLiteral("1.0e-05"));
    QCOMPARE(formatCellValue(-std::numeric_limits<double>::infinity()), QStringLiteral("−∞"));
    QCOMPARE(formatCellValue(std::nan("")), QStringLiteral("NaN"));
    QCOMPARE(formatCellValue(1e-5, 2), QStringLiteral("0.00"));
    QCOMPARE(formatCellValue(0.999, 2), QStringLiteral("1.00"));
}

void TestFigures::paintedFigureShowsCells()
{
    TeachingConfig config;
    const std::vector<HeadWeights> heads = defaultHeads(config);
    const QString sentence = QStringLiteral("The cat sat on the mat.");
    const TeachingTrace trace = traceTeachingModel(sentence, config, heads, AttentionSettings{});
    Workspace workspace = defaultWorkspace(sentence);
    const AttentionResult result = teachingResult(trace, workspace);
    FigureContext context{sentence, teachingModelDescription(config), 0, 0, heads[0].name, {}, -1, false, {}};
    HeatmapFigure figure = headHeatmap(result, teachingDetails(workspace, trace, 0), context, HeatmapStage::Weights, ColorMapKind::Viridis);
    QCOMPARE(figure.rowLabels.size(), 7);
    QVERIFY(figure.caption.join(QLatin1Char(' ')).contains(QStringLiteral("Previous token")));
    HeatmapStyle style;
    style.font = figureFont();
    const QSize size = preferredHeatmapSize(figure, style).toSize();
    QImage image(size, QImage::Format_RGB32);
    QPainter painter(&image);
    paintHeatmapFigure(painter, QRectF(QPointF(0, 0), size), figure, style);
    painter.end();
    // Probe the centre of every cell: it has the colour of its value.
    const HeatmapLayout layout(7, 7, QRectF(QPointF(0, 0), size), heatmapMargins(figure, style));
    const ColorMap map(ColorMapKind::Viridis);
    for (int r = 0; r < 7; ++r)
        for (int c = 0; c < 7; ++c)
            QCOMPARE(image.pixel(layout.cellRect(r, c).center().toPoint()), map.color(trace.heads[0].weights(r, c)));
}

void TestFigures::pdfImagesAreLossless()
{
    // A figure holding a bitmap (a long text's heatmap, the grid's thumbnails): the PDF must carry
    // it losslessly, never as JPEG, whose artefacts turned yellow cells pink.
    QImage cells(64, 64, QImage::Format_RGB32);
    const ColorMap map(ColorMapKind::Viridis);
    for (int y = 0; y < cells.height(); ++y)
        for (int x = 0; x < cells.width(); ++x)
            cells.setPixel(x, y, map.color(((x * 7 + y * 13) % 64) / 63.0));
    const auto paint = [&cells](QPainter &painter, const QRectF &area) {
        painter.fillRect(area, Qt::white);
        painter.drawImage(QRectF(10, 10, 320, 320), cells);
    };
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("cells.pdf"));
    QVERIFY_OK(exportFigure(paint, QSizeF(340, 340), FigureFormat::Pdf, path, 192, QStringLiteral("cells")));
    const QByteArray pdf = testing::readAll(path);
    QVERIFY(pdf.contains("/Subtype /Image"));
    QVERIFY(!pdf.contains("/DCTDecode")); // JPEG
}

void TestFigures::gridThumbnailsAreSharpInVectorExports()
{
    // A 7-token thumbnail goes into SVG as 7·64 = 448 pixels a side, each cell a block of 64 equal
    // pixels, so a viewer's smoothing blurs only the block edges.
    QImage thumbnail(7, 7, QImage::Format_RGB32);
    for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 7; ++x)
            thumbnail.setPixel(x, y, (x + y) % 2 ? qRgb(253, 231, 37) : qRgb(68, 1, 84));
    const QImage sharp = enlargedCells(thumbnail, kSharpThumbnailPixels);
    QCOMPARE(sharp.size(), QSize(448, 448));
    for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 7; ++x) {
            QCOMPARE(sharp.pixel(x * 64, y * 64), thumbnail.pixel(x, y));
            QCOMPARE(sharp.pixel(x * 64 + 63, y * 64 + 63), thumbnail.pixel(x, y));
        }
    QCOMPARE(enlargedCells(QImage(100, 100, QImage::Format_RGB32), kSharpThumbnailPixels).size(), QSize(500, 500)); // 512 / 100 = 5
    // Thumbnails already as large are left as they are.
    QCOMPARE(enlargedCells(QImage(600, 600, QImage::Format_RGB32), kSharpThumbnailPixels).size(), QSize(600, 600));
    // In an SVG of a grid, the embedded images are the enlarged ones.
    AttentionResult result;
    result.layers = 1;
    result.heads = 1;
    result.labels = {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
    result.maps = std::make_shared<const AttentionMaps>(AttentionMaps{{Matrix::Identity(3, 3)}});
    const GridFigure figure = gridFigure(result, FigureContext{}, ColorMapKind::Viridis, 0, 0);
    const auto thumbnails = gridThumbnails(figure);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("grid.svg"));
    QVERIFY_OK(exportFigure([&](QPainter &painter, const QRectF &area) { paintGridFigure(painter, area, figure, figureFont(), thumbnails); },
                            preferredGridSize(figure, figureFont()), FigureFormat::Svg, path, 192, QStringLiteral("grid")));
    const QByteArray svg = testing::readAll(path);
    const qsizetype href = svg.indexOf("base64,");
    QVERIFY(href > 0);
    const QByteArray data = QByteArray::fromBase64(svg.mid(href + 7, svg.indexOf('"', href) - href - 7));
    const QImage embedded = QImage::fromData(data);
    QCOMPARE(embedded.size(), QSize(192, 192)); // 3 cells × 64

    // A heatmap beyond the vector-cell limit: its body goes in with each cell 2048 / 80 = 25 pixels.
    HeatmapFigure heatmap;
    heatmap.setValues(Matrix::Random(80, 80).cwiseAbs());
    for (int i = 0; i < 80; ++i)
        heatmap.rowLabels.append(QString::number(i));
    heatmap.colLabels = heatmap.rowLabels;
    heatmap.vectorCells = true;
    const QString heatmapPath = dir.filePath(QStringLiteral("heatmap.svg"));
    const HeatmapStyle style;
    QVERIFY_OK(exportFigure([&](QPainter &painter, const QRectF &area) { paintHeatmapFigure(painter, area, heatmap, style); },
                            preferredHeatmapSize(heatmap, style), FigureFormat::Svg, heatmapPath, 192, QStringLiteral("heatmap")));
    const QByteArray heatmapSvg = testing::readAll(heatmapPath);
    QStringList sizes;
    for (qsizetype at = heatmapSvg.indexOf("base64,"); at > 0; at = heatmapSvg.indexOf("base64,", at + 7)) {
        const QImage image = QImage::fromData(QByteArray::fromBase64(heatmapSvg.mid(at + 7, heatmapSvg.indexOf('"', at) - at - 7)));
        sizes.append(QStringLiteral("%1x%2").arg(image.width()).arg(image.height()));
    }
    QVERIFY2(sizes.contains(QStringLiteral("2000x2000")), qPrintable(sizes.join(QLatin1Char(' '))));
}

void TestFigures::exportsOpen_data()
{
    QTest::addColumn<int>("format");
    QTest::newRow("png") << int(FigureFormat::Png);
    QTest::newRow("svg") << int(FigureFormat::Svg);
    QTest::newRow("pdf") << int(FigureFormat::Pdf);
}

void TestFigures::exportsOpen()
{
    QFETCH(int, format);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("figure.") + figureFormatName(FigureFormat(format)));
    const auto paint = [](QPainter &painter, const QRectF &area) {
        painter.fillRect(area, Qt::white);
        painter.fillRect(QRectF(10, 10, 30, 20), Qt::red);
        painter.drawText(QPointF(10, 60), QStringLiteral("head 0"));
    };
    QVERIFY_OK(exportFigure(paint, QSizeF(200, 100), FigureFormat(format), path, 192, QStringLiteral("t")));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    switch (FigureFormat(format)) {
    case FigureFormat::Png: {
        QImage image;
        QVERIFY(image.loadFromData(bytes, "PNG"));
        QCOMPARE(image.size(), QSize(400, 200)); // 192 dpi = twice the logical size
        QCOMPARE(QColor(image.pixel(40, 30)), QColor(Qt::red));
        QCOMPARE(QColor(image.pixel(5, 5)), QColor(Qt::white));
        break;
    }
    case FigureFormat::Svg: {
        QXmlStreamReader xml(bytes);
        QStringList rectFills; // the fill of each <rect>, or of the group that holds it
        QStringList groupFills{QString()};
        bool sawText = false;
        while (!xml.atEnd()) {
            xml.readNext();
            if (xml.isStartElement() && xml.name() == QStringLiteral("g"))
                groupFills.append(xml.attributes().value(QStringLiteral("fill")).toString());
            if (xml.isEndElement() && xml.name() == QStringLiteral("g"))
                groupFills.removeLast();
            if (xml.isStartElement() && xml.name() == QStringLiteral("rect")) {
                const QString own = xml.attributes().value(QStringLiteral("fill")).toString();
                rectFills.append(own.isEmpty() ? groupFills.constLast() : own);
            }
            if (xml.isCharacters() && xml.text().contains(QStringLiteral("head 0")))
                sawText = true;
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        // Both filled rectangles stay vector rectangles, in their colours, and text stays text.
        QVERIFY2(rectFills.contains(QStringLiteral("#ffffff")) && rectFills.contains(QStringLiteral("#ff0000")),
                 qPrintable(rectFills.join(QLatin1Char(' '))));
        QVERIFY(sawText);
        QVERIFY(bytes.contains("<svg"));
        break;
    }
    case FigureFormat::Pdf:
        QVERIFY(bytes.startsWith("%PDF-"));
        QVERIFY(bytes.contains("/Type /Page"));
        QVERIFY(bytes.trimmed().endsWith("%%EOF"));
        break;
    }
    // Unwritable destinations are reported, not crashed on.
    QVERIFY(exportFigure(paint, QSizeF(200, 100), FigureFormat(format), dir.filePath(QStringLiteral("no/such/dir/f")), 96)
                .error.contains(QStringLiteral("cannot write")));
}

void TestFigures::captionsShowInvisibleCharacters()
{
    // A right-to-left override in the sentence must not reverse the rest of the caption.
    FigureContext context;
    context.sentence = QStringLiteral("pay\u200Bpal \u202Eevil ok");
    const QString quoted = context.captionFor(QStringLiteral("weights")).first();
    QCOMPARE(quoted, QStringLiteral("“pay⟨U+200B⟩pal ⟨U+202E⟩evil ok”"));
}

void TestFigures::missingBodyImageIsSaidNotCrashedOn()
{
    // When the body image could not be allocated (a null image), the figure says so in its place.
    HeatmapFigure figure;
    Matrix values = Matrix::Constant(100, 100, 0.5f);
    figure.setValues(values);
    figure.rowLabels = figure.colLabels = QStringList(100, QStringLiteral("t"));
    HeatmapStyle style;
    style.font = figureFont();
    HeatmapCache cache = heatmapCache(figure, style);
    cache.body = QImage();
    QImage canvas(800, 800, QImage::Format_RGB32);
    QPainter painter(&canvas);
    paintHeatmapFigure(painter, QRectF(0, 0, 800, 800), figure, style, &cache);
    painter.end();
    // The body area stays white apart from the message's dark text: no cell colour is painted.
    const HeatmapLayout layout(100, 100, QRectF(0, 0, 800, 800), cache.margins);
    const QColor corner = canvas.pixelColor(layout.cellRect(0, 0).center().toPoint());
    QCOMPARE(corner, QColor(Qt::white));
    int dark = 0;
    const QRect body = layout.body().toRect().adjusted(4, 4, -4, -4); // inside its border
    for (int y = body.top(); y < body.bottom(); y += 2)
        for (int x = body.left(); x < body.right(); x += 2)
            dark += qGray(canvas.pixel(x, y)) < 128;
    QVERIFY(dark > 0); // the message is there
}

void TestFigures::pairRotationGeometryKeepsTheLength()
{
    // A quarter turn of (1, 0): the after-tip is straight above the origin (screen y grows
    // downwards) at the same distance, and the arc starts at 0° and spans 90°.
    PairRotationFigure figure;
    figure.before = QPointF(1, 0);
    figure.after = QPointF(0, 1);
    figure.angle = std::numbers::pi / 2 + 4 * std::numbers::pi; // two whole turns more change nothing
    const PairRotationGeometry g = pairRotationGeometry(figure, QRectF(0, 0, 300, 260));
    const QPointF before = g.beforeTip - g.origin, after = g.afterTip - g.origin;
    QVERIFY(std::abs(std::hypot(before.x(), before.y()) - std::hypot(after.x(), after.y())) < 1e-9);
    QVERIFY(std::abs(after.x()) < 1e-9 && after.y() < 0);
    QVERIFY(std::abs(g.startDegrees) < 1e-9);
    QVERIFY(std::abs(g.spanDegrees - 90.0) < 1e-9);
    QVERIFY(QRectF(0, 0, 300, 260).contains(g.beforeTip) && QRectF(0, 0, 300, 260).contains(g.afterTip));
    QVERIFY(g.captionRect.top() >= std::max(g.beforeTip.y(), g.afterTip.y()));
    QVERIFY(!pairRotationImage(figure, QSize(280, 240), 2.0).isNull());
}

void TestFigures::groupedHeadsAndAttentionSinksInTheModelView()
{
    // Four heads sharing two key/value heads; head 1 of layer 0 puts everything on the first token.
    AttentionResult result;
    result.layers = 1;
    result.heads = 4;
    result.kvHeads = 2;
    result.labels = {QStringLiteral("<s>"), QStringLiteral("a"), QStringLiteral("b")};
    Matrix uniform = Matrix::Constant(3, 3, 1.0f / 3.0f);
    Matrix sink = Matrix::Zero(3, 3);
    sink.col(0).setOnes();
    result.maps = std::make_shared<const AttentionMaps>(AttentionMaps{{uniform, sink, uniform, uniform}});
    QCOMPARE(result.kvHeadOf(3), 1);
    QCOMPARE(result.headGroup(3), std::make_pair(2, 3));
    QCOMPARE(result.firstTokenShare(0, 1), 1.0);
    QVERIFY(std::abs(result.firstTokenShare(0, 0) - 1.0 / 3.0) < 1e-7);
    const GridFigure figure = gridFigure(result, FigureContext{}, ColorMapKind::Viridis, 0, 0);
    QCOMPARE(gridColumnTitle(figure, 3, 4), (QStringList{QStringLiteral("head 3"), QStringLiteral("kv 1")}));
    QCOMPARE(gridColumnTitle(figure, 4, 4), QStringList{QStringLiteral("mean")});
    QCOMPARE(figure.firstTokenShares.size(), size_t(1));
    QCOMPARE(figure.firstTokenShares[0][1], 1.0);
    const QFontMetricsF metrics(figureFont());
    QCOMPARE(gridHeaderHeight(figure, metrics), 2 * metrics.lineSpacing() + 6); // two lines: head, kv head
    const GridLayout layout(1, 4, QRectF(0, 0, 800, 300), 60, gridHeaderHeight(figure, metrics), 20);
    QCOMPARE(layout.firstTokenBar(0, 1, 1.0).width(), layout.side());
    QVERIFY(std::abs(layout.firstTokenBar(0, 0, 1.0 / 3.0).width() - layout.side() / 3.0) < 1e-9);
    QCOMPARE(layout.firstTokenBar(0, 0, 1.0 / 3.0).bottom(), layout.cell(0, 0).bottom());
    QCOMPARE(layout.firstTokenBar(0, 2, std::nan("")).width(), 0.0);
    // Ungrouped models keep one header line.
    result.kvHeads = 4;
    QCOMPARE(gridColumnTitle(gridFigure(result, FigureContext{}, ColorMapKind::Viridis, 0, 0), 3, 4), QStringList{QStringLiteral("head 3")});
}

void TestFigures::everyLayerLabelIsBlack()
{
    // Each row label is drawn in black, not in the grey of the cell outline drawn just before it.
    AttentionResult result;
    result.layers = 3;
    result.heads = 2;
    result.labels = {QStringLiteral("a"), QStringLiteral("b")};
    const Matrix identity = Matrix::Identity(2, 2);
    result.maps = std::make_shared<const AttentionMaps>(AttentionMaps{{identity, identity}, {identity, identity}, {identity, identity}});
    const GridFigure figure = gridFigure(result, FigureContext{}, ColorMapKind::Viridis, 1, 0);
    const QSize size = preferredGridSize(figure, figureFont()).toSize();
    QImage image(size, QImage::Format_RGB32);
    QPainter painter(&image);
    const QRectF area(QPointF(0, 0), QSizeF(size));
    paintGridFigure(painter, area, figure, figureFont(), gridThumbnails(figure));
    painter.end();
    const QFontMetricsF metrics(figureFont());
    const GridLayout layout(3, 2, area, metrics.horizontalAdvance(QStringLiteral("layer 00")) + 6, gridHeaderHeight(figure, metrics),
                            metrics.lineSpacing() * figure.caption.size() + 4);
    for (int layer = 0; layer < 3; ++layer) {
        const QRect label = layout.rowHeader(layer).toAlignedRect().intersected(image.rect());
        int darkest = 255;
        for (int y = label.top(); y <= label.bottom(); ++y)
            for (int x = label.left(); x <= label.right(); ++x)
                darkest = std::min(darkest, qGray(image.pixel(x, y)));
        QVERIFY2(darkest < 40, qPrintable(QStringLiteral("layer %1's label is drawn in grey %2").arg(layer).arg(darkest)));
    }
}

void TestFigures::countsAgreeWithTheirNouns()
{
    TeachingConfig one;
    one.heads = 1;
    QVERIFY2(teachingModelDescription(one).endsWith(QStringLiteral(", 1 head)")), qPrintable(teachingModelDescription(one)));
    TeachingConfig three;
    three.heads = 3;
    QVERIFY(teachingModelDescription(three).endsWith(QStringLiteral(", 3 heads)")));
    QCOMPARE(countText(1, QStringLiteral("layer"), QStringLiteral("layers")), QStringLiteral("1 layer"));
    QCOMPARE(countText(0, QStringLiteral("layer"), QStringLiteral("layers")), QStringLiteral("0 layers"));
    QCOMPARE(countText(12, QStringLiteral("layer"), QStringLiteral("layers")), QStringLiteral("12 layers"));
}

void TestFigures::presenterFontIsTheLargestThatFits()
{
    HeatmapFigure figure;
    figure.setValues(Matrix::Constant(12, 12, -0.25f)); // "−0.25": wider than "0.00"
    figure.showNumbers = true;
    for (int i = 0; i < 12; ++i)
        figure.rowLabels.append(i == 6 ? QStringLiteral("because") : QStringLiteral("it"));
    figure.colLabels = figure.rowLabels;
    const QSizeF area(740, 580);
    const HeatmapReadability fit = fitHeatmapFont(figure, figureFont(), area, 10, 48);
    QVERIFY(fit.everyLabel && fit.everyNumber);
    QVERIFY(fit.fontPixels > 12 && fit.fontPixels < 48);
    // One pixel larger no longer fits.
    QFont larger = figureFont();
    larger.setPixelSize(fit.fontPixels + 1);
    const HeatmapReadability tooLarge = heatmapReadability(figure, larger, area);
    QVERIFY(!(tooLarge.everyLabel && tooLarge.everyNumber));
    // 100 tokens cannot show every number there: the labels at least, if any font allows.
    HeatmapFigure many;
    many.setValues(Matrix::Constant(100, 100, 0.5f));
    many.showNumbers = true;
    const HeatmapReadability crowded = fitHeatmapFont(many, figureFont(), area, 10, 48);
    QVERIFY(!crowded.everyNumber);
    QCOMPARE(crowded.fontPixels, 10);
}

void TestFigures::headViewHasALegendAndAWholeCaption()
{
    AttentionResult result;
    result.layers = 1;
    result.heads = 3;
    result.labels = {QStringLiteral("a"), QStringLiteral("b")};
    result.headNames = {QStringLiteral("Previous token"), QStringLiteral("Same word"), QString()};
    const Matrix w = Matrix::Constant(2, 2, 0.5f);
    result.maps = std::make_shared<const AttentionMaps>(AttentionMaps{{w, w, w}});
    FigureContext context;
    context.sentence = QStringLiteral("a b");
    context.model = QStringLiteral("A model whose description is long enough to have been cut before (d_model 8, d_head 4, 3 heads)");
    const ArcFigure figure = arcFigure(result, context, 0, {0, 2}, ArcPruning{});
    const auto legend = arcLegend(figure);
    QCOMPARE(legend.size(), 2); // the heads switched on
    QCOMPARE(legend.at(0).second, QStringLiteral("head 0 · Previous token"));
    QCOMPARE(legend.at(0).first, headColor(0));
    QCOMPARE(legend.at(1).second, QStringLiteral("head 2"));
    QCOMPARE(legend.at(1).first, headColor(2));
    // The exported size holds every caption line whole.
    const QFontMetricsF metrics(figureFont());
    const QSizeF size = preferredArcSize(figure, figureFont());
    for (const QString &line : figure.caption)
        QVERIFY2(metrics.horizontalAdvance(line) <= size.width() - 16, qPrintable(line));
    QVERIFY(figure.caption.contains(QStringLiteral("layer 0 · heads 0, 2")));
    // And the legend is painted: head 0's colour appears below the token rows.
    QImage image(size.toSize(), QImage::Format_RGB32);
    QPainter painter(&image);
    paintArcFigure(painter, QRectF(QPointF(0, 0), size), figure, figureFont());
    painter.end();
    int swatchPixels = 0;
    for (int y = int(size.height() * 0.5); y < image.height(); ++y)
        for (int x = 0; x < 40; ++x)
            swatchPixels += image.pixel(x, y) == headColor(0).rgb();
    QVERIFY(swatchPixels > 20);
}

void TestFigures::arithmeticIsWrittenAsALearnerWritesIt()
{
    QCOMPARE(number(4.933e-09), QStringLiteral("4.933×10⁻⁹"));
    QCOMPARE(number(1.5e10), QStringLiteral("1.5×10¹⁰"));
    QCOMPARE(number(-2.5e-12), QStringLiteral("−2.5×10⁻¹²"));
    QCOMPARE(number(-0.2599), QStringLiteral("−0.2599"));
    QCOMPARE(factor(-0.2599), QStringLiteral("(−0.2599)"));
    QCOMPARE(factor(0.5), QStringLiteral("0.5"));
    // The weighted sum of v: no product of a bare negative, no e-notation.
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    bool sawNegativeFactor = false;
    for (int query = 0; query < 12; ++query)
        for (Stage stage : {Stage::Weights, Stage::Output, Stage::Scores}) {
            QString html = explainStage(run.result, run.details, stage, query, 0, Projection::Q);
            QVERIFY2(!html.contains(QStringLiteral("·−")), qPrintable(html));
            QVERIFY2(!html.contains(QRegularExpression(QStringLiteral("\\de[-+]\\d"))), qPrintable(html));
            sawNegativeFactor = sawNegativeFactor || html.contains(QStringLiteral("·(−"));
        }
    QVERIFY(sawNegativeFactor);
}

void TestFigures::stageFigureNamesItsMatrixAndOutlinesTheKey()
{
    const TeachingRun run(QStringLiteral("The cat sat on the mat."));
    const AttentionResult &result = run.result;
    const HeadDetails &details = run.details;
    const FigureContext &context = run.context;
    // The colour bar names the one projection shown.
    QCOMPARE(stageFigure(result, details, context, Stage::Projections, Projection::K, ColorMapKind::Diverging, 1, 2).scaleLabel, QStringLiteral("k"));
    QCOMPARE(stageFigure(result, details, context, Stage::Projections, Projection::V, ColorMapKind::Diverging, 1, 2).scaleLabel, QStringLiteral("v"));
    // A query × key stage outlines the selected key in the selected row; a tokens × d matrix has no key column.
    HeatmapFigure scores = stageFigure(result, details, context, Stage::Scores, Projection::Q, ColorMapKind::Diverging, 1, 2);
    QCOMPARE(scores.selectedCol, 2);
    // A BERT pair's caption quotes both sentences.
    FigureContext pair = context;
    pair.sentencePair = QStringLiteral("It was tired.");
    QCOMPARE(pair.quotedSentence(), QStringLiteral("“The cat sat on the mat.” + “It was tired.”"));
    QCOMPARE(context.quotedSentence(), QStringLiteral("“The cat sat on the mat.”"));
    QCOMPARE(stageFigure(result, details, context, Stage::Output, Projection::Q, ColorMapKind::Diverging, 1, 2).selectedCol, -1);
    HeatmapStyle style;
    style.font = figureFont();
    const QSize size(500, 400);
    QImage image(size, QImage::Format_RGB32);
    QPainter painter(&image);
    paintHeatmapFigure(painter, QRectF(QPointF(0, 0), QSizeF(size)), scores, style);
    painter.end();
    const HeatmapLayout real(int(scores.values().rows()), int(scores.values().cols()), QRectF(QPointF(0, 0), QSizeF(size)), heatmapMargins(scores, style));
    const QRectF cell = real.cellRect(1, 2);
    QCOMPARE(image.pixel(QPointF(cell.center().x(), cell.top()).toPoint()), qRgb(0, 0, 0));
    QCOMPARE(image.pixel(QPointF(cell.left(), cell.center().y()).toPoint()), qRgb(0, 0, 0));
}

void TestFigures::maskedWeightsAreHatchedNotZeros()
{
    // Causal: the weights above the diagonal are exactly 0, as a real weight can be; the figure
    // knows they are masked, hatches them and writes no number there.
    AttentionSettings causal;
    causal.mask = MaskMode::Causal;
    const TeachingRun run(QStringLiteral("The cat sat on the mat."), causal);
    const AttentionResult &result = run.result;
    const HeadDetails &details = run.details;
    const FigureContext &context = run.context;
    for (const HeatmapFigure &figure : {stageFigure(result, details, context, Stage::Weights, Projection::Q, ColorMapKind::Viridis),
                                        headHeatmap(result, details, context, HeatmapStage::Weights, ColorMapKind::Viridis)}) {
        QVERIFY(figure.maskedFrom);
        QCOMPARE(figure.values()(0, 3), 0.0f);
        QVERIFY(figure.cellMasked(0, 3));
        QVERIFY(!figure.cellMasked(3, 0));
    }
    HeatmapFigure figure = stageFigure(result, details, context, Stage::Weights, Projection::Q, ColorMapKind::Viridis);
    figure.showNumbers = true;
    HeatmapStyle style;
    style.font = figureFont();
    const QSize size(600, 500);
    QImage image(size, QImage::Format_RGB32);
    QPainter painter(&image);
    paintHeatmapFigure(painter, QRectF(QPointF(0, 0), QSizeF(size)), figure, style);
    painter.end();
    const HeatmapLayout layout(6, 6, QRectF(QPointF(0, 0), QSizeF(size)), heatmapMargins(figure, style));
    // A masked cell: the hatch's grey lines and no white or black digits.
    auto colours = [&](int r, int c) {
        QSet<QRgb> seen;
        const QRect cell = layout.cellRect(r, c).toAlignedRect().adjusted(3, 3, -3, -3);
        for (int y = cell.top(); y <= cell.bottom(); ++y)
            for (int x = cell.left(); x <= cell.right(); ++x)
                seen.insert(image.pixel(x, y));
        return seen;
    };
    const QSet<QRgb> masked = colours(0, 3);
    QVERIFY(masked.contains(qRgb(160, 160, 160)));
    QVERIFY(!masked.contains(qRgb(255, 255, 255)));
    // A visible cell keeps its number (white or black text on its colour) and no hatch.
    const QSet<QRgb> visible = colours(3, 0);
    QVERIFY(!visible.contains(qRgb(160, 160, 160)));
    QVERIFY(visible.size() > 2);
}

void TestFigures::hiddenQueryShowsNoWeightAnywhere()
{
    // A scene hides the weights of "it" for the class to predict: no colour and no number of that
    // row reaches the figure, its image or the arithmetic, while the other rows and stages stay.
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    FigureContext context = run.context;
    const int it = int(run.result.labels.indexOf(QStringLiteral("it")));
    QVERIFY(it > 0);
    context.hiddenQuery = it;
    for (HeatmapFigure figure : {stageFigure(run.result, run.details, context, Stage::Weights, Projection::Q, ColorMapKind::Viridis),
                                 headHeatmap(run.result, run.details, context, HeatmapStage::Weights, ColorMapKind::Viridis)}) {
        QCOMPARE(figure.hiddenRow, it);
        QVERIFY2(figure.caption.last().contains(QStringLiteral("“it” are hidden")), qPrintable(figure.caption.join(u'\n')));
        const QImage body = heatmapBodyImage(figure);
        for (int c = 0; c < body.width(); ++c) {
            QCOMPARE(body.pixel(c, it), kHiddenCellColor);
            QVERIFY(body.pixel(c, it - 1) != kHiddenCellColor);
        }
        // Painted with numbers: the row is grey with question marks, no cell colour of the map.
        figure.showNumbers = true;
        HeatmapStyle style;
        style.font = figureFont();
        const QSize size(900, 800);
        QImage image(size, QImage::Format_RGB32);
        QPainter painter(&image);
        paintHeatmapFigure(painter, QRectF(QPointF(0, 0), QSizeF(size)), figure, style);
        painter.end();
        const HeatmapLayout layout(int(figure.values().rows()), int(figure.values().cols()), QRectF(QPointF(0, 0), QSizeF(size)),
                                   heatmapMargins(figure, style));
        const ColorMap map(ColorMapKind::Viridis);
        const QSet<QRgb> mapColours(map.table().begin(), map.table().end());
        for (int c = 0; c < int(figure.values().cols()); ++c) {
            const QRect inner = layout.cellRect(it, c).toAlignedRect().adjusted(2, 2, -2, -2);
            bool sawGrey = false;
            for (int y = inner.top(); y <= inner.bottom(); ++y)
                for (int x = inner.left(); x <= inner.right(); ++x) {
                    const QRgb pixel = image.pixel(x, y);
                    sawGrey |= pixel == kHiddenCellColor;
                    QVERIFY(!mapColours.contains(pixel));
                }
            QVERIFY(sawGrey);
        }
        // The row above keeps its colours.
        const QRect above = layout.cellRect(it - 1, 0).toAlignedRect().adjusted(2, 2, -2, -2);
        QVERIFY(mapColours.contains(image.pixel(above.topLeft())));
    }
    // Stages before the softmax are not the answer: they stay.
    QCOMPARE(stageFigure(run.result, run.details, context, Stage::Scores, Projection::Q, ColorMapKind::Diverging).hiddenRow, -1);
    // The arithmetic of the weights and the output asks for a prediction instead of giving numbers.
    for (Stage stage : {Stage::Weights, Stage::Output}) {
        const QString html = explainStage(run.result, run.details, stage, it, -1, Projection::Q, it);
        QVERIFY2(html.contains(QStringLiteral("Predict first")), qPrintable(html));
        QVERIFY2(!html.contains(QRegularExpression(QStringLiteral("\\d\\.\\d"))), qPrintable(html));
        // Another query is not hidden.
        QVERIFY(!explainStage(run.result, run.details, stage, it - 1, -1, Projection::Q, it).contains(QStringLiteral("Predict first")));
    }
    QVERIFY(!explainStage(run.result, run.details, Stage::Scores, it, -1, Projection::Q, it).contains(QStringLiteral("Predict first")));
    // The head view draws no line from the hidden query, in any head; the others keep theirs.
    ArcFigure arcs = arcFigure(run.result, context, 0, {0, 1, 2}, ArcPruning{0.0f, 0});
    QCOMPARE(arcs.hiddenQuery, it);
    QImage withHidden(500, 500, QImage::Format_RGB32), shown(500, 500, QImage::Format_RGB32);
    {
        QPainter painter(&withHidden);
        paintArcFigure(painter, QRectF(0, 0, 500, 500), arcs, figureFont());
    }
    arcs.hiddenQuery = -1;
    {
        QPainter painter(&shown);
        paintArcFigure(painter, QRectF(0, 0, 500, 500), arcs, figureFont());
    }
    QVERIFY(withHidden != shown);
}

void TestFigures::handoutPagesCarryFormulaAndArithmetic()
{
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    const FigureSource source{run.result, run.details, run.context};
    const std::vector<HandoutPage> pages = stageHandoutPages(source, 7, -1);
    const std::vector<Stage> stages = stagesFor(run.result);
    QCOMPARE(pages.size(), stages.size());
    for (size_t i = 0; i < pages.size(); ++i) {
        QCOMPARE(pages[i].heading, QStringLiteral("Stage %1 of %2 · %3").arg(i + 1).arg(stages.size()).arg(stageTitle(stages[i])));
        QVERIFY2(pages[i].formula.startsWith(QStringLiteral("%1. %2:").arg(i + 1).arg(stageTitle(stages[i]))), qPrintable(pages[i].formula));
        QVERIFY2(pages[i].formula.contains(stageFormula(stages[i])), qPrintable(pages[i].formula));
        QCOMPARE(pages[i].arithmetic, explainStage(run.result, run.details, stages[i], 7, -1, Projection::Q));
        QVERIFY(pages[i].figure.size.width() > 100 && pages[i].figure.paint);
        QVERIFY(pages[i].caption.join(u' ').contains(QStringLiteral("didn't cross")));
    }

    // Scenes: each page from its own state; a hidden scene hides its weights on paper too.
    Scene scene;
    scene.name = QStringLiteral("Which word is “it”?");
    scene.state = defaultWorkspace(QStringLiteral("The animal didn't cross the street because it was too tired."));
    scene.view = QStringLiteral("steps");
    scene.stage = QStringLiteral("weights");
    scene.query = 7;
    scene.hideWeights = true;
    Scene second = scene;
    second.name = QStringLiteral("Scores");
    second.stage = QStringLiteral("scores");
    second.hideWeights = false;
    second.head = 1;
    second.state.text = QStringLiteral("the cat saw the dog");
    int reported = 0;
    const Result<std::vector<HandoutPage>> scenePages = sceneHandoutPages(
        {scene, second}, [](const QString &) { return Result<std::shared_ptr<const Checkpoint>>::failure(QStringLiteral("unused")); },
        [&reported](int done, int total) { QCOMPARE(total, 2); reported = done; });
    QVERIFY2(scenePages, qPrintable(scenePages.error));
    QCOMPARE(reported, 2);
    QCOMPARE(scenePages.value->size(), size_t(2));
    const HandoutPage &first = scenePages.value->at(0);
    QCOMPARE(first.heading, QStringLiteral("Scene 1 of 2 · Which word is “it”?"));
    QVERIFY(first.arithmetic.contains(QStringLiteral("Predict first")));
    QVERIFY(first.caption.join(u' ').contains(QStringLiteral("hidden")));
    QVERIFY(!first.formula.contains(QStringLiteral("Challenge")));
    const HandoutPage &page2 = scenePages.value->at(1);
    QVERIFY(page2.formula.contains(QStringLiteral("q·kᵀ")));
    QVERIFY(page2.caption.join(u' ').contains(QStringLiteral("the cat saw the dog")));
    QVERIFY(page2.caption.join(u' ').contains(QStringLiteral("head 1")));
    // A scene with a challenge states it on its page.
    Scene challenge = second;
    challenge.target = TargetPattern::SameWord;
    const Result<std::vector<HandoutPage>> challengePage = sceneHandoutPages(
        {challenge}, [](const QString &) { return Result<std::shared_ptr<const Checkpoint>>::failure(QStringLiteral("unused")); });
    QVERIFY2(challengePage.value->at(0).formula.contains(QStringLiteral("Challenge: edit W_Q and W_K until Same word will attend to the same word.")),
             qPrintable(challengePage.value->at(0).formula));
    // A scene whose model cannot be opened says which scene and why.
    Scene broken = scene;
    broken.modelFolder = QStringLiteral("/no/such/model");
    const Result<std::vector<HandoutPage>> failed = sceneHandoutPages(
        {scene, broken}, [](const QString &folder) { return Result<std::shared_ptr<const Checkpoint>>::failure(folder + QStringLiteral(" is missing")); });
    QVERIFY(!failed);
    QCOMPARE(failed.error, QStringLiteral("scene 2 “Which word is “it”?”: /no/such/model is missing"));
}

void TestFigures::handoutPdfReadsBack()
{
    const QString pdftotext = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
    QVERIFY2(!pdftotext.isEmpty(), "pdftotext (poppler-utils) is needed to read the handout back");
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    const FigureSource source{run.result, run.details, run.context};
    const std::vector<HandoutPage> pages = stageHandoutPages(source, 7, -1);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("handout.pdf"));
    QVERIFY_OK(writeHandout(pages, path, QStringLiteral("lesson")));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.startsWith("%PDF-"));
    QVERIFY(!bytes.contains("/DCTDecode")); // no JPEG anywhere
    QVERIFY(bytes.contains(QByteArray("/Count ") + QByteArray::number(qsizetype(pages.size()))));
    QProcess process;
    process.start(pdftotext, {QStringLiteral("-layout"), path, QStringLiteral("-")});
    QVERIFY(process.waitForFinished(30000));
    QCOMPARE(process.exitCode(), 0);
    const QString text = QString::fromUtf8(process.readAllStandardOutput());
    const QStringList pageTexts = text.split(QChar(u'\f'), Qt::SkipEmptyParts);
    QCOMPARE(pageTexts.size(), qsizetype(pages.size()));
    const std::vector<Stage> stages = stagesFor(run.result);
    for (size_t i = 0; i < pages.size(); ++i) {
        const QString &page = pageTexts.at(qsizetype(i));
        QVERIFY2(page.contains(QStringLiteral("Stage %1 of %2").arg(i + 1).arg(pages.size())), qPrintable(page));
        // Text stays text: the tokens of the figure and the query of the arithmetic.
        QVERIFY2(page.contains(QStringLiteral("because")), qPrintable(page));
        QVERIFY2(page.contains(isBlockStage(stages[i]) ? QStringLiteral("Token “it” (position 7)") : QStringLiteral("Query “it” (position 7)")),
                 qPrintable(page));
    }
    // The softmax page writes out the selected query's weight of the key it attends to most.
    const qsizetype weightsPage = std::find(stages.begin(), stages.end(), Stage::Weights) - stages.begin();
    const Eigen::Index top = [&] { Eigen::Index j; run.details.trace.weights.row(7).maxCoeff(&j); return j; }();
    const QString weight = number(run.details.trace.weights(7, top));
    QVERIFY2(pageTexts.at(weightsPage).contains(weight), qPrintable(weight + QStringLiteral(" in ") + pageTexts.at(weightsPage)));
    // Unwritable destinations are reported.
    QVERIFY(!writeHandout(pages, dir.filePath(QStringLiteral("no/such/dir/h.pdf")), {}));
    QVERIFY(!writeHandout({}, dir.filePath(QStringLiteral("empty.pdf")), {}));
}

void TestFigures::stepThroughMatrixFillsAWidePane()
{
    // The step-through's pane is wide and short. With square cells a 12 × 16 X took about 150 px
    // of an 800 px pane with every other row label; cells up to 3× wider than high use the width,
    // and the fitted font labels every row and writes every number.
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    HeatmapFigure figure = stageFigure(run.result, run.details, run.context, Stage::Embeddings, Projection::Q, ColorMapKind::Diverging, 7);
    figure.caption.clear();
    figure.showNumbers = true;
    const QSizeF pane(800, 230);
    HeatmapStyle chosen;
    chosen.font = figureFont(13);
    chosen.maxCellAspect = 3;
    const HeatmapStyle style = fittedStyle(figure, chosen, pane);
    const HeatmapLayout layout(12, 16, QRectF(QPointF(0, 0), pane), heatmapMargins(figure, style));
    QVERIFY2(layout.body().width() > 0.6 * pane.width(), qPrintable(QString::number(layout.body().width())));
    QVERIFY(layout.cellWidth() > layout.cellHeight());
    QVERIFY(layout.cellWidth() <= 3 * layout.cellHeight() + 1e-9);
    const HeatmapReadability readability = heatmapReadability(figure, style.font, pane, style.labelWidth, style.maxCellAspect);
    QVERIFY(readability.everyLabel);
    QVERIFY(readability.everyNumber);
    QVERIFY(everyNumberDrawn(figure, style, QRectF(QPointF(0, 0), pane)));
    // Square cells (exports, presenter mode) in the same pane would not use it.
    HeatmapStyle square = style;
    square.maxCellAspect = 1;
    const HeatmapLayout squareLayout(12, 16, QRectF(QPointF(0, 0), pane), heatmapMargins(figure, square));
    QCOMPARE(squareLayout.cellWidth(), squareLayout.cellHeight());
    QVERIFY(squareLayout.body().width() < 0.4 * pane.width());
    // Clicks land on the cell drawn there.
    QCOMPARE(layout.cellAt(layout.cellRect(7, 15).center()), std::optional<HeatmapCell>(HeatmapCell{7, 15}));
    // Short column labels (x0 … x15) leave the height to the cells: the band is sized by them.
    QVERIFY(heatmapMargins(figure, style).colLabels < heatmapMargins(figure, style).rowLabels);
}

void TestFigures::selectedRowKeepsItsLabelWhenLabelsThinOut()
{
    // Every third row labelled: row 17 is not one of them, but selected it keeps its label, and the
    // labels within two rows of it (15 and 18) give way so that none overlaps.
    const QList<int> labelled = labelledRows(40, 3, 17);
    QVERIFY(labelled.contains(17));
    for (int near : {15, 16, 18, 19})
        QVERIFY(!labelled.contains(near));
    QVERIFY(labelled.contains(12));
    QVERIFY(labelled.contains(21));
    for (qsizetype i = 1; i < labelled.size(); ++i)
        QVERIFY2(labelled.at(i) - labelled.at(i - 1) >= 3, qPrintable(QString::number(labelled.at(i))));
    QCOMPARE(labelledRows(5, 2, -1), (QList<int>{0, 2, 4}));
    QCOMPARE(labelledRows(4, 1, 2), (QList<int>{0, 1, 2, 3}));
    QCOMPARE(labelledRows(4, 3, 9), (QList<int>{0, 3})); // a selection out of range changes nothing
}

void TestFigures::weightsOnTheDivergingMapStartWhiteAtZero()
{
    // Weights are never negative: with the diverging map chosen, 0 is white (the map's centre, as
    // for every other stage) and 1 its darkest red, not 0.5 white and 0 blue.
    QCOMPARE(colorMapFor(ValueKind::Weights, ColorMapKind::Diverging), ColorMapKind::DivergingPositive);
    QCOMPARE(colorMapFor(ValueKind::Signed, ColorMapKind::Diverging), ColorMapKind::Diverging);
    QCOMPARE(colorMapFor(ValueKind::Weights, ColorMapKind::Viridis), ColorMapKind::Viridis);
    const ColorMap diverging(ColorMapKind::Diverging);
    const ColorMap positive(ColorMapKind::DivergingPositive);
    QCOMPARE(positive.color(0.0), qRgb(0xF7, 0xF7, 0xF7)); // white, the diverging map's centre anchor
    QCOMPARE(positive.color(1.0), diverging.color(1.0));   // the darkest red
    QVERIFY(qBlue(diverging.color(0.0)) > qRed(diverging.color(0.0))); // where 0 used to be: blue
    QVERIFY(qBlue(positive.color(0.0)) > 240 && qRed(positive.color(0.0)) > 240);
    for (double t = 0; t <= 1.0; t += 0.05) // no blue anywhere: nothing reads as negative
        QVERIFY(qRed(positive.color(t)) >= qBlue(positive.color(t)));
    // Every figure of weights takes the rule: the heatmap, the model view, the step-through.
    const TeachingRun run(QStringLiteral("a b c"));
    FigureRequest request;
    request.kind = FigureKind::Grid;
    request.preferredColors = ColorMapKind::Diverging;
    QCOMPARE(gridFigure(run.result, run.context, ColorMapKind::Diverging, 0, 0).colorMap, ColorMapKind::DivergingPositive);
    QVERIFY(!colorMapName(ColorMapKind::DivergingPositive).isEmpty());
    QVERIFY(!allColorMaps().contains(ColorMapKind::DivergingPositive)); // not a choice of its own
}

void TestFigures::vectorCellsOverlapSoNoSeamsShow()
{
    const HeatmapLayout layout(3, 4, QRectF(0, 0, 400, 300), HeatmapLayout::Margins{});
    const QRectF inner = vectorCellRect(layout, 1, 1, 0.5);
    QCOMPARE(inner.left(), layout.cellRect(1, 1).left());
    QCOMPARE(inner.top(), layout.cellRect(1, 1).top());
    QCOMPARE(inner.right(), layout.cellRect(1, 2).left() + 0.5); // under the next cell, no gap
    QCOMPARE(inner.bottom(), layout.cellRect(2, 1).top() + 0.5);
    // The last row and column stop at the matrix's edge.
    QCOMPARE(vectorCellRect(layout, 2, 3, 0.5), layout.cellRect(2, 3));
    QCOMPARE(vectorCellRect(layout, 0, 3, 0.5).right(), layout.body().right());
}

void TestFigures::axesAreTitledAndStagesNumberedAsTheWindowNumbersThem()
{
    const TeachingRun run(QStringLiteral("a b c"));
    const HeatmapFigure weights = headHeatmap(run.result, run.details, run.context, HeatmapStage::Weights, ColorMapKind::Viridis);
    QCOMPARE(weights.rowTitle, QStringLiteral("query"));
    QCOMPARE(weights.colTitle, QStringLiteral("key"));
    const HeatmapFigure x = stageFigure(run.result, run.details, run.context, Stage::Embeddings, Projection::Q, ColorMapKind::Diverging);
    QCOMPARE(x.rowTitle, QStringLiteral("token"));
    QCOMPARE(x.colTitle, QStringLiteral("feature"));
    // The titles take their room: the body moves right and down by a line.
    HeatmapStyle style;
    style.font = figureFont(13);
    HeatmapFigure untitled = weights;
    untitled.rowTitle.clear();
    untitled.colTitle.clear();
    const QRectF area(0, 0, 600, 600);
    const HeatmapLayout titled(3, 3, area, heatmapMargins(weights, style));
    const HeatmapLayout bare(3, 3, area, heatmapMargins(untitled, style));
    QVERIFY(titled.body().left() > bare.body().left());
    QVERIFY(titled.body().top() > bare.body().top());
    QVERIFY(titled.rowTitleRect().right() <= titled.rowLabelRect(0).left() + 1e-9);
    QVERIFY(titled.colTitleRect().bottom() <= titled.colLabelAnchor(0).top() + 1e-9);
    // Exported step-through figures number the stage as the window does: the teaching model has no
    // rotary stage, so QKᵀ is stage 3, not 4.
    FigureRequest request;
    request.kind = FigureKind::Steps;
    request.stage = Stage::Scores;
    const BuiltFigure figure = buildFigure(run.result, run.details, run.context, request, figureFont());
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("steps.svg"));
    QVERIFY_OK(exportFigure(figure.paint, figure.size, FigureFormat::Svg, path));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString svg = QString::fromUtf8(file.readAll());
    QVERIFY2(svg.contains(QStringLiteral("3. QKᵀ")), "the scores stage is the third");
    QVERIFY(!svg.contains(QStringLiteral("4. QKᵀ")));
    QVERIFY(svg.contains(QStringLiteral(">query<")) || svg.contains(QStringLiteral("query")));
}

void TestFigures::arithmeticComesInSteps()
{
    const TeachingRun run(QStringLiteral("The cat sat on the mat."));
    for (Stage stage : stagesFor(run.result)) {
        const QString html = explainStage(run.result, run.details, stage, 2, -1, Projection::Q);
        const QStringList steps = arithmeticSteps(html);
        QVERIFY(!steps.isEmpty());
        QCOMPARE(steps.join(QString()), html); // nothing lost, nothing doubled
        for (const QString &step : steps)
            QVERIFY2(step.startsWith(QStringLiteral("<p")) || step.startsWith(QStringLiteral("<table")), qPrintable(step));
        // The head's stages are about a query; the rest of the block about a token.
        QVERIFY(steps.first().contains(isBlockStage(stage) ? QStringLiteral("Token “sat”") : QStringLiteral("Query “sat”")));
    }
    // The softmax: the query, the rule, the table of exponentials, the sum and the weight.
    const QStringList softmax = arithmeticSteps(explainStage(run.result, run.details, Stage::Weights, 2, -1, Projection::Q));
    QCOMPARE(softmax.size(), 4);
    QVERIFY(softmax.at(2).startsWith(QStringLiteral("<table")));
    QVERIFY(softmax.at(3).contains(QStringLiteral("Σ = ")));
    QCOMPARE(arithmeticSteps(QString()), QStringList());
    QCOMPARE(arithmeticSteps(QStringLiteral("plain")), QStringList{QStringLiteral("plain")});
}

void TestFigures::captionNeverWidensAFigure()
{
    // The caption in three lines (sentence, model, head and stage), none wider than the matrix
    // with its labels and colour bar: no blank band right of the figure, nothing cut on screen.
    const TeachingRun run(QStringLiteral("The animal didn't cross the street because it was too tired."));
    const HeatmapFigure figure = headHeatmap(run.result, run.details, run.context, HeatmapStage::Weights, ColorMapKind::Viridis);
    QCOMPARE(figure.caption.size(), 3);
    QCOMPARE(figure.caption.at(1), run.context.model);
    QVERIFY(figure.caption.at(2).startsWith(QStringLiteral("layer 0 · head 0")));
    HeatmapStyle style;
    style.font = figureFont(13);
    const QSizeF size = preferredHeatmapSize(figure, style);
    const HeatmapLayout layout(12, 12, QRectF(QPointF(0, 0), size), heatmapMargins(figure, style));
    const double blank = size.width() - layout.colorBarRect().right();
    QVERIFY2(blank <= 2 * heatmapMargins(figure, style).padding + 1, qPrintable(QString::number(blank)));
    const QFontMetricsF metrics(style.font);
    for (const QString &line : figure.caption)
        QVERIFY2(metrics.horizontalAdvance(line) <= layout.captionRect().width(), qPrintable(line));
}

void TestFigures::modelViewShowsTheRolloutOfEachLayer()
{
    // Three layers of two heads: after the mean and the max, each row ends with the rollout up to
    // that layer, the same image as the rollout's own heatmap body.
    std::vector<std::vector<Matrix>> layers(3);
    for (int l = 0; l < 3; ++l)
        for (int h = 0; h < 2; ++h) {
            Matrix w = Matrix::Zero(4, 4);
            for (int q = 0; q < 4; ++q) {
                w(q, (q + l + h) % 4) = 0.75f;
                w(q, q) += 0.25f;
            }
            layers[size_t(l)].push_back(w);
        }
    AttentionResult result;
    result.labels = {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d")};
    result.layers = 3;
    result.heads = 2;
    result.maps = std::make_shared<const AttentionMaps>(layers);
    const GridFigure figure = gridFigure(result, FigureContext{}, ColorMapKind::Viridis, 0, 0);
    QCOMPARE(gridColumnTitle(figure, 4, 2), QStringList{QStringLiteral("rollout")});
    QVERIFY(figure.caption.join(u' ').contains(QStringLiteral("½·mean_h A + ½·I")));
    const std::vector<std::vector<QImage>> thumbnails = gridThumbnails(figure);
    const std::vector<Matrix> rollout = attentionRollout(layers);
    for (int l = 0; l < 3; ++l) {
        QCOMPARE(thumbnails[size_t(l)].size(), size_t(2 + kGridAggregateColumns));
        HeatmapFigure expected;
        expected.colorMap = ColorMapKind::Viridis;
        expected.scale = {0.0, 1.0};
        expected.setValues(rollout[size_t(l)]);
        QCOMPARE(thumbnails[size_t(l)][4], heatmapBodyImage(expected));
    }
    // The layout has room for the three aggregate columns after the heads.
    const GridLayout layout(3, 2, QRectF(0, 0, 800, 600), 60, 20, 40);
    QVERIFY(layout.cell(0, 4).right() <= 800);
    QCOMPARE(layout.cellAt(layout.cell(2, 4).center()), std::optional(std::pair(2, 4)));
}

void TestFigures::predictionBarsAreTheirProbabilities()
{
    // Probabilities ½, 0.3, 0.15, 0.05; top-k 2 keeps ½ and 0.3 (chances ⅝ and ⅜).
    RowVector logits(4);
    logits << std::log(0.05f), std::log(0.3f), std::log(0.5f), std::log(0.15f);
    const PredictionFigure figure = predictionFigure(logits, [](int id) { return QStringLiteral("t%1").arg(id); }, {1.0, 2, 1.0}, 3);
    QCOMPARE(figure.rows.size(), size_t(3));
    QCOMPARE(figure.rows[0].label, QStringLiteral("t2"));
    QVERIFY(std::abs(figure.rows[0].probability - 0.5) < 1e-6 && std::abs(figure.rows[0].chance - 0.625) < 1e-6);
    QVERIFY(std::abs(figure.rows[1].chance - 0.375) < 1e-6);
    QVERIFY(!figure.rows[2].kept);
    QCOMPARE(figure.rows[2].chance, 0.0);
    QCOMPARE(predictionValueText(figure.rows[0]), QStringLiteral("62.5 % · model 50.0 % · logit -0.69"));
    QCOMPARE(predictionValueText(figure.rows[2]), QStringLiteral("cut · model 15.0 % · logit -1.90"));
    // The bar fills its share of the track; the tick sits at the model's probability; rows stack.
    const PredictionLayout layout(3, QRectF(0, 0, 400, 90), 60, 140, 30);
    const QRectF track = layout.barTrack(1);
    QCOMPARE(track.left(), 66.0);
    QCOMPARE(track.width(), 400.0 - 60 - 140 - 12);
    QCOMPARE(layout.bar(1, 0.25).width(), track.width() * 0.25);
    QCOMPARE(layout.bar(1, 2.0).width(), track.width()); // clamped
    QCOMPARE(layout.tickX(1, 0.5), track.left() + track.width() / 2);
    QCOMPARE(layout.labelRect(2).top(), 60.0);
    QVERIFY(layout.valueRect(0).left() > track.right());
    QVERIFY(!layout.labelRect(0).intersects(track));
}

void TestFigures::translationFiguresAndHandoutScenes()
{
    const QString folder = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/marian-random-tiny");
    const auto opened = openTranslationCheckpoint(folder);
    QVERIFY_OK(opened);
    const QString source = QStringLiteral("She sees the small elephant near the old river bank.");
    const QString target = QStringLiteral("Sie sieht den kleinen Elefanten.");
    const Result<FigureSource> figures = translationFigureSource(*opened.value, source, target, AttentionKind::Cross, 1, 2);
    QVERIFY_OK(figures);
    const FigureSource &f = *figures.value;
    // The cross-attention heatmap: target rows, source columns, said in the caption.
    const HeatmapFigure heatmap = headHeatmap(f.result, f.details, f.context, HeatmapStage::Weights, ColorMapKind::Viridis);
    QCOMPARE(heatmap.rowLabels.size(), f.result.tokenCount());
    QCOMPARE(heatmap.colLabels, f.result.keyLabels);
    QVERIFY(heatmap.colLabels.size() != heatmap.rowLabels.size());
    QCOMPARE(heatmap.values().cols(), Eigen::Index(heatmap.colLabels.size()));
    QVERIFY(heatmap.caption.join(QLatin1Char(' ')).contains(QStringLiteral("cross-attention layer 1")));
    QVERIFY(heatmap.caption.join(QLatin1Char(' ')).contains(QStringLiteral("→")));
    // k's rows are the source's tokens; the formula says k comes from the encoder's output.
    const HeatmapFigure k = stageFigure(f.result, f.details, f.context, Stage::Projections, Projection::K, ColorMapKind::Diverging);
    QCOMPARE(k.rowLabels, f.result.keyLabels);
    QCOMPARE(stageFormula(Stage::Projections, f.result), QStringLiteral("q = X·W_Q,  k = E·W_K,  v = E·W_V"));
    // Arcs: target on the left, source on the right.
    const ArcFigure arcs = arcFigure(f.result, f.context, 1, {0, 1}, {});
    QCOMPARE(arcs.rightLabels(), f.result.keyLabels);
    const ArcLayout layout = arcFigureLayout(arcs, QRectF(0, 0, 600, 800), figureFont());
    bool left = true;
    QCOMPARE(layout.tokenAt(layout.rightAnchor(int(arcs.keyLabels.size()) - 1) + QPointF(10, 0), &left), int(arcs.keyLabels.size()) - 1);
    QVERIFY(!left);
    // The model view: encoder, decoder and cross-attention rows; no rollout where the maps are not square.
    const GridFigure grid = gridFigure(f.result, f.context, ColorMapKind::Viridis, 1, 2);
    QCOMPARE(int(grid.weights->size()), 2 + 2 + 2);
    QCOMPARE(grid.rowTitle(4), QStringLiteral("cross 0"));
    QCOMPARE(grid.selectedLayer, 5);
    const auto thumbnails = gridThumbnails(grid);
    QCOMPARE(thumbnails[4].back().size(), QSize(1, 1)); // the grey "none" of a cross row's rollout
    QVERIFY(thumbnails[0].back().width() > 1);
    // The step-through explains cross-attention's two inputs.
    const QString explained = explainStage(f.result, f.details, Stage::Projections, 3, 5, Projection::K, -1);
    QVERIFY2(explained.contains(QStringLiteral("encoder")), qPrintable(explained));
    // A handout of translation scenes: each page computed from its scene's model, kind and target.
    Scene scene;
    scene.name = QStringLiteral("alignment");
    scene.state = defaultWorkspace(source);
    scene.modelFolder = folder;
    scene.textPair = target;
    scene.attentionKind = QStringLiteral("cross");
    scene.view = QStringLiteral("heatmap");
    scene.stage = QStringLiteral("weights");
    scene.layer = 1;
    scene.head = 2;
    scene.query = 3;
    scene.key = 9; // a source position beyond the target's length
    Scene encoder = scene;
    encoder.attentionKind = QStringLiteral("encoder");
    const auto open = [](const QString &) { return Result<std::shared_ptr<const Checkpoint>>::failure(QStringLiteral("not a single-stack model")); };
    const Result<std::vector<HandoutPage>> pages = sceneHandoutPages({scene, encoder}, open);
    QVERIFY_OK(pages);
    QCOMPARE(pages.value->size(), size_t(2));
    QVERIFY(pages.value->front().caption.join(QLatin1Char(' ')).contains(QStringLiteral("cross-attention")));
    QVERIFY(pages.value->back().caption.join(QLatin1Char(' ')).contains(QStringLiteral("encoder layer 1")));
    QTemporaryDir dir;
    QVERIFY_OK(writeHandout(*pages.value, dir.filePath(QStringLiteral("handout.pdf")), QStringLiteral("Translation")));
    QVERIFY(QFileInfo(dir.filePath(QStringLiteral("handout.pdf"))).size() > 1000);
}

void TestFigures::pngKeepsEveryPixelAndTheResolution()
{
    // PNG figures go through libpng with one row filter: lossless all the same, resolution kept.
    QImage image(301, 97, QImage::Format_RGB32);
    SplitMix64 rng(5);
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            image.setPixel(x, y, qRgb(int(rng.next() % 256), int(rng.next() % 256), y < 40 ? 255 : int(rng.next() % 256)));
    image.setDotsPerMeterX(11811); // 300 dpi
    image.setDotsPerMeterY(11811);
    const std::optional<QByteArray> png = encodeOpaquePng(image);
    QVERIFY(png);
    QVERIFY(png->startsWith("\x89PNG\r\n\x1a\n"));
    const QImage back = QImage::fromData(*png, "PNG");
    QCOMPARE(back.size(), image.size());
    QCOMPARE(back.convertToFormat(QImage::Format_RGB32), image);
    QCOMPARE(back.dotsPerMeterX(), 11811);
    QCOMPARE(back.dotsPerMeterY(), 11811);
    QVERIFY(!encodeOpaquePng(QImage())); // nothing to encode: no file, not an empty one
}

QTEST_MAIN(TestFigures)
#include "tst_figures.moc"
