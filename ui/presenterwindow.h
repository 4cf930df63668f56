#pragma once

#include <QStringList>
#include <QWidget>

#include <tuple>

class QLabel;
class QTextBrowser;

namespace studio {

class AttentionDocument;
class MatrixCanvas;
class ViewOptions;

// Presenter mode: full screen, the selected head's current stage as one large matrix beside the
// arithmetic for the selected query, every font sized for the back row (the matrix's font is the
// largest at which every token label and every cell's number fits). A clicker drives it whatever
// has the focus: Page Down, → and Space show the next step of the arithmetic, then the next stage,
// and after the last stage the next query; ↓ goes a whole stage; Page Up, ←, ↑ go back (while a scene plays, Page Down and Page Up go scene by
// scene); hidden weights are revealed by the next forward key; B (or .) blacks the screen out and back; Esc leaves.
class PresenterWindow : public QWidget {
    Q_OBJECT
public:
    PresenterWindow(AttentionDocument *document, ViewOptions *options, QWidget *parent = nullptr);

    // The next step of the arithmetic; after its last, the next stage (from its first step); after
    // the last stage, the next query. previous() goes back the same way.
    void next();
    void previous();
    // A whole stage at a time (↓ and ↑).
    void nextStage();
    void previousStage();
    int shownSteps() const { return m_shownSteps; }
    int stepCount() const { return int(m_steps.size()); }
    // While a scene plays (Page Down / Page Up): the next or previous scene; otherwise next()
    // and previous(). Weights hidden for the class to predict are revealed first.
    void nextScene();
    void previousScene();
    void toggleBlack();
    bool isBlack() const;
    int matrixFontPixels() const { return m_matrixFontPixels; }
    MatrixCanvas *canvas() const { return m_canvas; }
    QString titleText() const;
    QString subtitleText() const;
    QString arithmeticText() const;

    // The base font for a screen of this height: 720 px gives 24 px text.
    static int baseFontPixels(int screenHeight);

protected:
    void keyPressEvent(QKeyEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    void rebuild();
    void fitMatrix();
    void fitArithmetic(int base);
    void showArithmetic();

    AttentionDocument *m_document;
    ViewOptions *m_options;
    QLabel *m_title;
    QLabel *m_subtitle;
    MatrixCanvas *m_canvas;
    QTextBrowser *m_arithmetic;
    QLabel *m_hint;
    QWidget *m_black;
    int m_matrixFontPixels = 0;
    QStringList m_steps;       // the arithmetic's steps for the current stage and query
    int m_shownSteps = 1;      // how many of them are shown
    std::tuple<int, int, int, int> m_shownFor{-1, -1, -1, -1}; // stage, query, layer, head they are for
};

} // namespace studio
